import logging
import logging.config
import os
import sys
from pathlib import Path

from celery import Celery, signals
from django.conf import settings

from hub import devenv, worker_metrics

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings")


def _is_celery_command() -> bool:
    """`celery -A hub …` (or `python -m celery …`), not a process that imports the app."""
    program = Path(sys.argv[0]) if sys.argv and sys.argv[0] else Path()
    return program.name == "celery" or (
        program.name == "__main__.py" and program.parent.name == "celery"
    )


if _is_celery_command():
    devenv.load()  # a second terminal beside `make run` gets its settings (development only)

app = Celery("hub")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


# --- Logging: the hub's LOGGING in the worker and beat, not Celery's own -----------------
# Without a receiver of `setup_logging`, Celery replaces the root logger's handlers with its
# own, and the redaction filter and the hub's format go with them (a worker printed secret
# access keys and API tokens as they were).


@signals.setup_logging.connect
def use_hub_logging(loglevel=None, **kwargs):
    logging.config.dictConfig(settings.LOGGING)
    if loglevel and not os.environ.get("HUB_LOG_LEVEL"):
        logging.getLogger().setLevel(loglevel)  # `celery … -l info` when nothing else says
    if app.conf.worker_redirect_stdouts:
        # What tasks print goes through the same handler (and redaction), as Celery does
        # when it configures logging itself. After dictConfig: the handler keeps the real
        # stderr.
        app.log.redirect_stdouts(app.conf.worker_redirect_stdouts_level)


# --- Metrics (hub/worker_metrics.py): served by the worker's main process and by beat -----


@signals.celeryd_init.connect
def prepare_worker_metrics(**kwargs):
    worker_metrics.prepare_process_group("worker")


@signals.worker_init.connect
def serve_worker_metrics(sender=None, **kwargs):
    worker_metrics.serve("worker", processes=getattr(sender, "concurrency", None))


@signals.beat_init.connect
def serve_beat_metrics(**kwargs):
    worker_metrics.serve("beat")


@signals.task_prerun.connect
def _task_prerun(task_id=None, **kwargs):
    worker_metrics.task_started(task_id)


@signals.task_postrun.connect
def _task_postrun(task_id=None, task=None, **kwargs):
    worker_metrics.task_finished(task_id, task.name)


@signals.task_success.connect
def _task_success(sender=None, **kwargs):
    _outcome(sender, "succeeded")


@signals.task_failure.connect
def _task_failure(sender=None, **kwargs):
    _outcome(sender, "failed")


@signals.task_retry.connect
def _task_retry(sender=None, **kwargs):
    _outcome(sender, "retried")


@signals.task_revoked.connect
def _task_revoked(sender=None, request=None, **kwargs):
    _outcome(sender, "revoked")


def _outcome(task, outcome: str) -> None:
    name = getattr(task, "name", None) or "unknown"
    worker_metrics.task_outcome(name, outcome)
