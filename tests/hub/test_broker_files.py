"""The serverless (file-system) broker of the embedded default keeps its files in var/."""

import uuid
from pathlib import Path

import pytest
from django.conf import settings
from kombu import Exchange, Queue

from hub.celery import app as celery_app

pytestmark = pytest.mark.skipif(
    not settings.CELERY_BROKER_URL.startswith("filesystem://"),
    reason="only the file-system broker writes files",
)


def test_broker_writes_nothing_in_the_working_directory(tmp_path, monkeypatch):
    """kombu's file-system transport puts its exchange tables in ./control unless told
    otherwise: `make run` would litter the checkout (and `git add .` would commit it)."""
    monkeypatch.chdir(tmp_path)
    name = f"hub-test-{uuid.uuid4().hex}"
    with celery_app.connection_for_write() as connection:
        channel = connection.channel()
        Queue(name, Exchange(name), routing_key=name)(channel).declare()
        channel.close()
    control = Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["control_folder"])
    exchange_file = control / f"{name}.exchange"
    try:
        assert list(tmp_path.iterdir()) == []
        assert exchange_file.exists()
        assert control.is_relative_to(settings.VAR_DIR)
    finally:
        exchange_file.unlink(missing_ok=True)
