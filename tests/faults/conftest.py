"""Fixtures of the fault tests. The repository tests' botocore fixtures are reused as they
are (`boto_events`: handlers inside the hub's own AWS clients; `ecr`: a client of the
test's own that sees moto's state; `eager`: Celery's eager mode)."""

from tests.docker_repos.conftest import boto_events, eager, ecr  # noqa: F401
