"""Throttling: per person, 429 with Retry-After in the error shape."""

import json
import os
import subprocess
import sys
import time

import pytest
from allauth.core.internal import ratelimit
from django.core.cache import cache
from rest_framework.test import APIClient

import hub
from hub.api import throttling
from hub.api.throttling import HubApiThrottle

from .matrix import assert_error_shape
from .support import API, client_for, token_for

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
    def broken(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(throttling.HubApiThrottle, "get_cache_key", broken)
    assert client_for(world.users["member"]).get(ME).status_code == 200


def settings_with(**env) -> dict:
    """hub.settings' CACHES and HUB_API_RATE as a fresh process sees them with `env`."""
    code = (
        "import json, hub.settings as s; "
        "print(json.dumps({'CACHES': s.CACHES, 'HUB_API_RATE': s.HUB_API_RATE}))"
    )
    environ = {
        k: v for k, v in os.environ.items() if k not in ("HUB_CACHE_URL", "HUB_API_RATE")
    } | env
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=environ,
        capture_output=True,
        text=True,
        cwd=settings_module_dir(),
    )
    return json.loads(done.stdout) if done.returncode == 0 else {"error": done.stderr}


def settings_module_dir() -> str:
    return os.path.dirname(os.path.dirname(hub.__file__))


def test_the_defaults_are_600_a_minute_in_memory():
    loaded = settings_with()
    assert loaded["HUB_API_RATE"] == "600/min"
    assert loaded["CACHES"]["default"]["BACKEND"].endswith("LocMemCache")


def test_hub_cache_url_puts_the_counts_in_redis():
    loaded = settings_with(HUB_CACHE_URL="redis://cache:6379/1", HUB_API_RATE="50/s")
    assert loaded["HUB_API_RATE"] == "50/s"
    assert loaded["CACHES"]["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    assert loaded["CACHES"]["default"]["LOCATION"] == "redis://cache:6379/1"


def test_a_malformed_rate_stops_the_start():
    assert "HUB_API_RATE must look like" in settings_with(HUB_API_RATE="lots")["error"]


@pytest.mark.skipif(
    not os.environ.get("HUB_TEST_REDIS_URL"),
    reason="set HUB_TEST_REDIS_URL=redis://... to throttle through Redis",
)
def test_throttling_through_redis(world, settings):
    """The counts live in Redis (never flushed here: CI shares the server with Celery)."""

    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["HUB_TEST_REDIS_URL"],
            "KEY_PREFIX": f"hub-test-{os.getpid()}-{time.time_ns()}",
        }
    }
    settings.HUB_API_RATE = "2/min"
    user = world.users["member"]
    key = HubApiThrottle.cache_format % {"scope": "hub_api", "ident": user.pk}
    client = client_for(user)
    try:
        assert [client.get(ME).status_code for _ in range(3)] == [200, 200, 429]
        assert len(cache.get(key)) == 2
    finally:
        cache.delete(key)


# --- Wrong tokens: limited per client like failed sign-ins ---------------------------------


def token_client(token: str, ip: str = "203.0.113.7"):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}", REMOTE_ADDR=ip)
    return client


def failures_allowed(settings) -> int:
    """The per-IP budget of failed sign-ins, which wrong tokens share as a rule."""
    rate = settings.ACCOUNT_RATE_LIMITS["api_token_failed"]
    assert rate in settings.ACCOUNT_RATE_LIMITS["login_failed"].split(",")
    return int(rate.split("/")[0])


WRONG = "hub_000000000000_" + "x" * 43


def test_repeated_wrong_tokens_from_one_client_are_429(world, settings):
    limit = failures_allowed(settings)
    client = token_client(WRONG)
    assert [client.get(ME).status_code for _ in range(limit)] == [401] * limit
    response = client.get(ME)
    assert response.status_code == 429
    error = assert_error_shape(response)
    assert error["code"] == "throttled"
    assert 1 <= int(response["Retry-After"]) <= 60
    assert f"{response['Retry-After']} second" in error["message"]
    # Locked out like a sign-in: even a right token from this client waits, so guessing
    # cannot go on (a 200 would tell the guess was right).
    assert token_client(token_for(world.users["member"])).get(ME).status_code == 429


def test_malformed_token_headers_count_as_failures(world, settings):
    limit = failures_allowed(settings)
    client = token_client("a b")
    for _ in range(limit):
        client.get(ME)
    assert client.get(ME).status_code == 429


def test_a_good_token_is_not_locked_out_by_another_clients_failures(world, settings):
    attacker = token_client(WRONG, ip="198.51.100.9")
    for _ in range(failures_allowed(settings) + 3):
        attacker.get(ME)
    assert attacker.get(ME).status_code == 429
    good = token_client(token_for(world.users["member"]), ip="203.0.113.7")
    assert good.get(ME).status_code == 200


def test_right_tokens_do_not_count(world, settings):
    client = token_client(token_for(world.users["member"]))
    for _ in range(failures_allowed(settings) + 3):
        assert client.get(ME).status_code == 200


def test_wrong_tokens_are_counted_again_after_the_window(world, settings):
    client = token_client(WRONG)
    for _ in range(failures_allowed(settings)):
        client.get(ME)
    assert client.get(ME).status_code == 429
    cache.clear()  # the window passed (the counts expire with it)
    assert client.get(ME).status_code == 401


def test_a_broken_cache_does_not_break_token_authentication(world, monkeypatch):
    def broken(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(ratelimit, "get_cache_key", broken)
    assert token_client(token_for(world.users["member"])).get(ME).status_code == 200
    assert token_client(WRONG).get(ME).status_code == 401
