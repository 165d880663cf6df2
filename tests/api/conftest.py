"""Fixtures of the REST API tests: API clients signed in with a real token per role.
(Each test's fresh cache, for the throttle counts, is tests/conftest.py's `_fresh_cache`.)"""

import pytest

from .support import client_for

# The moto fixture `aws` lives in tests/docker_repos/conftest.py (or, once moved, in
# tests/conftest.py, which every test sees): re-export it here while it is there.
try:
    from tests.docker_repos.conftest import aws  # noqa: F401
except ImportError:
    pass


@pytest.fixture
def api(world):
    """`api(role)`: an API client authenticated as that role of `world` ("anonymous": none)."""

    def make(role: str):
        return client_for(None if role == "anonymous" else world.users[role])

    return make
