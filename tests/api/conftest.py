"""Fixtures of the REST API tests: API clients signed in with a real token per role."""

import pytest
from django.core.cache import cache

from .support import client_for

# The moto fixture `aws` lives in tests/docker_repos/conftest.py (or, once moved, in
# tests/conftest.py, which every test sees): re-export it here while it is there.
try:
    from tests.docker_repos.conftest import aws  # noqa: F401
except ImportError:
    pass


@pytest.fixture(autouse=True)
def _fresh_throttle_counts(settings):
    """Throttle counts live in the cache: each test starts with none, in a cache of its
    own (never a Redis that HUB_CACHE_URL may name)."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                                   "LOCATION": "api-tests"}}
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api(world):
    """`api(role)`: an API client authenticated as that role of `world` ("anonymous": none)."""

    def make(role: str):
        return client_for(None if role == "anonymous" else world.users[role])

    return make
