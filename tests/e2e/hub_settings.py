"""The hub's own settings (hub.settings), with two additions for the browser tests: the
Celery queue is the e2e run's own (HUB_E2E_QUEUE), so a worker of another test run on
the same Redis database cannot take the hub's tasks, nor this run's worker theirs; and
one address that fails (tests/e2e/urls.py), to show the hub's 500 page."""

import os

from hub.settings import *  # noqa: F403

CELERY_TASK_DEFAULT_QUEUE = os.environ.get("HUB_E2E_QUEUE", "celery")
ROOT_URLCONF = "tests.e2e.urls"
