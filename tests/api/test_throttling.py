"""Throttling: per person, 429 with Retry-After in the error shape."""

import json
import os
import subprocess
import sys
import time

import pytest
from django.core.cache import cache

from .matrix import assert_error_shape
from .support import API, client_for

ME = f"{API}me/"


@pytest.fixture
def low_rate(settings):
    settings.HUB_API_RATE = "3/min"


def test_past_the_rate_requests_are_429_with_retry_after(world, low_rate):
    client = client_for(world.users["member"])
    for _ in range(3):
        assert client.get(ME).status_code == 200
    response = client.get(ME)
    assert response.status_code == 429
    error = assert_error_shape(response)
    assert error["code"] == "throttled"
    retry_after = int(response["Retry-After"])
    assert 1 <= retry_after <= 60
    assert f"{retry_after} second" in error["message"]


def test_every_token_of_a_person_shares_the_budget(world, low_rate):
    first, second = client_for(world.users["member"]), client_for(world.users["member"])
    for _ in range(3):
        first.get(ME)
    assert second.get(ME).status_code == 429


def test_other_people_are_not_throttled(world, low_rate):
    busy = client_for(world.users["member"])
    for _ in range(4):
        busy.get(ME)
    assert client_for(world.users["project_admin"]).get(ME).status_code == 200


def test_throttled_writes_change_nothing(world, low_rate):
    client = client_for(world.users["project_admin"])
    for _ in range(3):
        client.get(ME)
    response = client.post(f"{API}projects/acp/services/", {"name": "late"}, format="json")
    assert response.status_code == 429
    assert not world.project.services.filter(name="late").exists()


def test_the_budget_comes_back_after_the_window(world, low_rate, monkeypatch):
    client = client_for(world.users["member"])
    for _ in range(3):
        client.get(ME)
    assert client.get(ME).status_code == 429
    cache.clear()  # the window passed (the counts expire with it)
    assert client.get(ME).status_code == 200


def test_a_broken_cache_does_not_break_the_api(world, monkeypatch):
    from hub.api import throttling

    def broken(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(throttling.HubApiThrottle, "get_cache_key", broken)
    assert client_for(world.users["member"]).get(ME).status_code == 200


def settings_with(**env) -> dict:
    """hub.settings' CACHES and HUB_API_RATE as a fresh process sees them with `env`."""
    code = ("import json, hub.settings as s; "
            "print(json.dumps({'CACHES': s.CACHES, 'HUB_API_RATE': s.HUB_API_RATE}))")
    environ = {k: v for k, v in os.environ.items()
               if k not in ("HUB_CACHE_URL", "HUB_API_RATE")} | env
    done = subprocess.run([sys.executable, "-c", code], env=environ, capture_output=True,
                          text=True, cwd=settings_module_dir())
    return json.loads(done.stdout) if done.returncode == 0 else {"error": done.stderr}


def settings_module_dir() -> str:
    import hub

    return os.path.dirname(os.path.dirname(hub.__file__))


def test_the_defaults_are_600_a_minute_in_memory():
    loaded = settings_with()
    assert loaded["HUB_API_RATE"] == "600/min"
    assert loaded["CACHES"]["default"]["BACKEND"].endswith("LocMemCache")


def test_hub_cache_url_puts_the_counts_in_redis():
    loaded = settings_with(HUB_CACHE_URL="redis://cache:6379/1", HUB_API_RATE="50/s")
    assert loaded["HUB_API_RATE"] == "50/s"
    assert loaded["CACHES"]["default"]["BACKEND"] == \
        "django.core.cache.backends.redis.RedisCache"
    assert loaded["CACHES"]["default"]["LOCATION"] == "redis://cache:6379/1"


def test_a_malformed_rate_stops_the_start():
    assert "HUB_API_RATE must look like" in settings_with(HUB_API_RATE="lots")["error"]


@pytest.mark.skipif(not os.environ.get("HUB_TEST_REDIS_URL"),
                    reason="set HUB_TEST_REDIS_URL=redis://... to throttle through Redis")
def test_throttling_through_redis(world, settings):
    """The counts live in Redis (never flushed here: CI shares the server with Celery)."""
    from hub.api.throttling import HubApiThrottle

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": os.environ["HUB_TEST_REDIS_URL"],
                                   "KEY_PREFIX": f"hub-test-{os.getpid()}-{time.time_ns()}"}}
    settings.HUB_API_RATE = "2/min"
    user = world.users["member"]
    key = HubApiThrottle.cache_format % {"scope": "hub_api", "ident": user.pk}
    client = client_for(user)
    try:
        assert [client.get(ME).status_code for _ in range(3)] == [200, 200, 429]
        assert len(cache.get(key)) == 2
    finally:
        cache.delete(key)
