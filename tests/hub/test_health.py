"""`/healthz`: 200 when the database and the broker answer, 503 when one does not."""

import pytest
from django.db import connections
from django.urls import reverse

from hub.celery import app as celery_app

CLOSED_PORT_BROKER = "redis://127.0.0.1:1/0"  # nothing listens on port 1


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


def test_healthy(client, db):
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok"}}
    assert "no-cache" in response["Cache-Control"]


def test_broker_down(client, db, broker_down):
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["broker"].startswith("error: ")


def test_database_down(client, database_down):
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"] == {"database": "error: OperationalError", "broker": "ok"}


def test_healthz_needs_no_sign_in_and_only_answers_get(client, db):
    assert client.get(reverse("healthz")).status_code == 200
    assert client.post(reverse("healthz")).status_code == 405
