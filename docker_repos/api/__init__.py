"""REST API of Docker repositories, their images and their access (contract:
shared/API.md, "Docker repositories")."""
