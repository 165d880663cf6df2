"""Probes: `/livez` (the process answers, nothing else), `/readyz` (database, broker, and
beat's heartbeat age shown) and its old name `/healthz`, whatever the Host header."""

from datetime import timedelta

import pytest
from django.db import connections
from django.urls import reverse
from django.utils import timezone

from hub import heartbeat
from hub.celery import app as celery_app

CLOSED_PORT_BROKER = "redis://127.0.0.1:1/0"  # nothing listens on port 1
POD_IP = "10.1.2.3:8000"  # how a kubelet asks: never in ALLOWED_HOSTS


@pytest.fixture
def broker_down(monkeypatch):
    # Celery reads CELERY_BROKER_URL from the environment before its configuration (CI
    # sets it), so both point at the closed port.
    # Read the configured value first: once the variable is set, conf.broker_url returns it.
    before = celery_app.conf.broker_url
    monkeypatch.setenv("CELERY_BROKER_URL", CLOSED_PORT_BROKER)
    celery_app.conf.broker_url = CLOSED_PORT_BROKER
    yield
    celery_app.conf.broker_url = before


@pytest.fixture
def database_down(db):
    """The default database alias points at a database that cannot be opened, for the
    duration of the test (the test's own connection is put back afterwards)."""
    real = connections["default"]
    broken_settings = dict(real.settings_dict)
    if real.vendor == "sqlite":
        broken_settings["NAME"] = "/nonexistent-directory/hub.sqlite3"
    else:
        broken_settings["NAME"] = "hub_healthz_no_such_database"
    broken = type(real)(broken_settings, alias="default")
    connections["default"] = broken
    try:
        yield
    finally:
        broken.close()
        connections["default"] = real


@pytest.fixture
def production_hosts(settings):
    """As deployed: one public name, https redirect on."""
    settings.ALLOWED_HOSTS = ["hub.example.com"]
    settings.SECURE_SSL_REDIRECT = True


# --- /livez --------------------------------------------------------------------------------


@pytest.mark.parametrize("host", [POD_IP, "hub.example.com", "evil.example.net"])
def test_livez_answers_whatever_the_host(client, production_hosts, host):
    response = client.get("/livez", HTTP_HOST=host)
    assert response.status_code == 200, response.content
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_livez_needs_neither_database_nor_broker(client, database_down, broker_down):
    response = client.get("/livez", HTTP_HOST=POD_IP)
    assert response.status_code == 200


# --- /readyz -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/readyz", "/healthz"])
def test_readyz_answers_a_kubelet_by_pod_ip(client, db, production_hosts, path):
    response = client.get(path, HTTP_HOST=POD_IP)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"] == {"database": "ok", "broker": "ok"}


def test_other_pages_still_refuse_an_unknown_host(client, db, production_hosts):
    assert client.get("/accounts/login/", HTTP_HOST=POD_IP).status_code == 400
    # and only the exact paths are answered early
    assert client.get("/readyz/", HTTP_HOST=POD_IP).status_code == 400


def test_readyz_shows_beat_heartbeat_age(client, db, settings):
    heartbeat.record(heartbeat.BEAT, at=timezone.now() - timedelta(seconds=42))
    body = client.get(reverse("readyz")).json()
    assert 42 <= body["beat"]["heartbeat_age_seconds"] < 50
    assert body["beat"]["stale"] is False
    assert body["beat"]["stale_after_seconds"] == settings.HUB_BEAT_STALE_AFTER


def test_stale_beat_is_reported_but_does_not_fail_readiness_by_default(client, db, settings):
    heartbeat.record(
        heartbeat.BEAT, at=timezone.now() - timedelta(seconds=settings.HUB_BEAT_STALE_AFTER + 5)
    )
    response = client.get(reverse("readyz"))
    assert response.status_code == 200
    assert response.json()["beat"]["stale"] is True
    assert response.json()["beat"]["fails_readiness"] is False


def test_stale_beat_fails_readiness_when_asked(client, db, settings):
    settings.HUB_READY_REQUIRES_BEAT = True
    response = client.get(reverse("readyz"))  # no heartbeat at all
    assert response.status_code == 503
    assert response.json()["checks"]["beat"] == "error: no heartbeat"
    heartbeat.record(
        heartbeat.BEAT, at=timezone.now() - timedelta(seconds=settings.HUB_BEAT_STALE_AFTER + 5)
    )
    assert client.get(reverse("readyz")).json()["checks"]["beat"] == "error: stale"
    heartbeat.record(heartbeat.BEAT)
    response = client.get(reverse("readyz"))
    assert response.status_code == 200
    assert response.json()["checks"]["beat"] == "ok"


def test_broker_down(client, db, broker_down):
    response = client.get(reverse("readyz"), HTTP_HOST=POD_IP)
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["broker"].startswith("error: ")


def test_database_down(client, database_down):
    response = client.get(reverse("readyz"), HTTP_HOST=POD_IP)
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"] == {"database": "error: OperationalError", "broker": "ok"}
    assert body["beat"]["heartbeat_age_seconds"] is None  # unknown: it lives in the database


def test_probes_need_no_sign_in_and_only_answer_get(client, db):
    for path in ("/livez", "/readyz", "/healthz", "/metrics"):
        assert client.get(path).status_code == 200, path
        assert client.head(path).status_code == 200, path
        assert client.post(path).status_code == 405, path
