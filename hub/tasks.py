"""What every converging task shares: transient AWS failures retry with exponential
backoff and jitter; permanent ones, and the last retry, mark the object failed with a
reason. Nothing is left pending silently."""

import logging

from celery import Task
from celery.utils.time import get_exponential_backoff_interval
from django.conf import settings
from django.db import OperationalError, transaction

from .aws import AwsError
from .celery import app
from .choices import FailureKind

logger = logging.getLogger(__name__)


# Ends the reason (for people) of an object that failed only because AWS stayed
# unreachable or busy through every retry. Code selects on the FailureKind passed with
# it (FailureKind.GAVE_UP), never on these words.
GAVE_UP = " — gave up after"


class RetryingTask(Task):
    """The base of every task that talks to AWS: Celery's own retry options, read from the
    settings when used (tests change them per test). Tasks with `autoretry_for` get them
    from Celery directly; converge() reads the same attributes."""

    @property
    def max_retries(self) -> int:
        return settings.HUB_TASK_MAX_RETRIES

    @property
    def retry_backoff(self) -> float:
        return settings.HUB_TASK_RETRY_BASE

    @property
    def retry_backoff_max(self) -> float:
        return settings.HUB_TASK_RETRY_CAP

    retry_jitter = True


def backoff_seconds(task: Task) -> float:
    """Celery's exponential backoff (capped, full jitter when the task asks for it) for the
    task's next retry, in seconds. Counted in milliseconds: Celery's jitter draws whole
    numbers, and the bases are fractions of a second in tests (and may be in settings)."""
    millis = get_exponential_backoff_interval(
        factor=round(task.retry_backoff * 1000),
        retries=task.request.retries,
        maximum=round(task.retry_backoff_max * 1000),
        full_jitter=task.retry_jitter,
    )
    return millis / 1000


def converge(task, *, work, on_retry, on_failed, object_id) -> None:
    """Run `work(object_id)` inside Celery task `task` (bound, based on RetryingTask: its
    `max_retries` is the limit, its backoff options the wait). `on_retry(object_id,
    detail)` notes a retry on the row; `on_failed(object_id, reason, kind)` records the
    failure, `kind` a FailureKind."""
    try:
        work(object_id)
    except AwsError as exc:
        attempt = task.request.retries + 1
        total = task.max_retries + 1
        if exc.transient and attempt < total:
            on_retry(object_id, f"{exc.reason} — retrying (attempt {attempt} of {total})")
            raise task.retry(countdown=backoff_seconds(task), exc=exc) from None
        if not exc.transient:
            on_failed(object_id, exc.reason, FailureKind.AWS_ERROR)
            return
        on_failed(
            object_id,
            f"{exc.reason}{GAVE_UP} {total} attempts; press Retry to try again",
            FailureKind.GAVE_UP,
        )
    except OperationalError as exc:
        # The database, not AWS: a deadlock or a dropped connection deserves another try.
        # The row is left as it is (writing to it may fail the same way); the reconciler
        # re-sends it if the retries run out while the database is still away.
        if task.request.retries < task.max_retries:
            logger.warning(
                "%s for id %s hit a database error (%s); retrying",
                task.name,
                object_id,
                exc.__class__.__name__,
            )
            raise task.retry(countdown=backoff_seconds(task), exc=exc) from None
        logger.exception("%s failed for id %s", task.name, object_id)
        on_failed(
            object_id,
            "The hub's database failed while working on this; press Retry to try again.",
            FailureKind.DATABASE,
        )
    except Exception as exc:
        # A bug, not AWS: say so on the object instead of leaving it pending forever.
        logger.exception("%s failed for id %s", task.name, object_id)
        on_failed(
            object_id,
            f"Unexpected error in the hub ({exc.__class__.__name__}); the "
            "operators can see it in the worker log. Press Retry to try again.",
            FailureKind.BUG,
        )


def registered_task(name: str):
    """The Celery task registered under `name` (each task module names its tasks
    explicitly). Services enqueue by name, so they never import the task modules that
    import them. A web process has not imported the task modules yet: the first lookup
    loads them the way a worker does (the apps' `tasks` modules)."""
    if name not in app.tasks:
        app.loader.import_default_modules()
    try:
        return app.tasks[name]
    except KeyError:
        raise LookupError(f"No Celery task is registered as {name!r}") from None


def enqueue_on_commit(task_name: str, *args) -> None:
    """Send the task registered as `task_name` once the transaction has committed. If the
    broker is down the request still succeeds: the row stays in its transitional state
    and the reconciler re-sends it. An unknown name fails here, at once, not silently
    after the commit."""
    task = registered_task(task_name)

    def send():
        try:
            task.apply_async(
                args=args, retry=True, retry_policy={"max_retries": 2, "interval_start": 0.2}
            )
        except Exception:
            logger.warning(
                "Could not enqueue %s%s; the reconciler will retry it.",
                task.name,
                args,
                exc_info=True,
            )

    transaction.on_commit(send)
