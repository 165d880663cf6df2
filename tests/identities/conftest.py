"""Fixtures the identities tests share with the repository tests."""

from tests.docker_repos.conftest import boto_events  # noqa: F401 - the botocore event hooks
