"""REST API of projects, members and services (contract: shared/API.md, "Projects")."""
