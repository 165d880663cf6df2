"""Services enqueue tasks by name (hub.tasks.enqueue_on_commit), so no service imports a
task module. A name that no task has fails at once, inside the service's transaction,
never silently after the commit; and every name the code sends is a registered task."""

import re
from pathlib import Path

import pytest
from django.db import transaction

from hub.celery import app
from hub.tasks import enqueue_on_commit, registered_task

ROOT = Path(__file__).resolve().parents[2]
SENT = re.compile(r'"((?:docker_repos|identities)\.tasks\.[a-z_]+)"')


def test_an_unknown_task_name_fails_at_once(db, django_capture_on_commit_callbacks):
    with (
        django_capture_on_commit_callbacks() as callbacks,
        pytest.raises(LookupError, match="no_such"),
    ):
        with transaction.atomic():
            enqueue_on_commit("docker_repos.tasks.no_such_task", 1)
    assert callbacks == []


def test_every_task_name_the_code_sends_is_registered():
    sources = [
        p
        for app_dir in ("docker_repos", "identities", "hub")
        for p in (ROOT / app_dir).rglob("*.py")
    ]
    names = {name for path in sources for name in SENT.findall(path.read_text())}
    assert {
        "docker_repos.tasks.provision_repo",
        "docker_repos.tasks.sync_repo_access",
        "identities.tasks.provision_identity",
    } <= names
    for name in sorted(names):
        assert registered_task(name).name == name


def test_the_beat_schedule_names_registered_tasks(settings):
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in app.tasks or registered_task(entry["task"])
