"""REST API of connected identities (contract: shared/API.md, "Connected identities")."""
