from dataclasses import dataclass

import boto3
import pytest
from celery import signals
from django.conf import settings as django_settings

from docker_repos.models import DockerRepo
from hub.aws import reset_clients
from hub.celery import app

# `aws` (moto in-process) is in tests/conftest.py: the identities tests use it too.


@pytest.fixture
def boto_events(aws):
    """botocore's event system for every AWS client the hub creates during the test.

    hub.aws builds its clients from boto3's default session, and each new client starts
    with a copy of that session's event handlers. So a handler registered here runs inside
    the hub's own clients, exactly where AWS answers: `before-call.ecr.<Operation>` may
    return `(http, parsed)` (see support.aws_error) and the client raises it as AWS's
    ClientError without sending anything; `after-call.ecr` sees every answer. Registering
    forgets the hub's built clients, so the next call gets one with the handler. The
    previous default session comes back afterwards."""
    previous = boto3.DEFAULT_SESSION
    boto3.setup_default_session()
    yield _Events(boto3.DEFAULT_SESSION.events)
    boto3.DEFAULT_SESSION = previous
    reset_clients()


class _Events:
    def __init__(self, emitter):
        self._emitter = emitter

    def register(self, event_name, handler, **kwargs):
        self._emitter.register(event_name, handler, **kwargs)
        reset_clients()


@pytest.fixture
def ecr_calls(boto_events):
    """The name of every ECR operation the hub calls, in order."""
    calls: list[str] = []

    def record(model, **kwargs):
        calls.append(model.name)

    boto_events.register("before-call.ecr", record)
    return calls


@pytest.fixture
def ecr(aws):
    """An ECR client of the test's own, from a separate boto3 session: it sees moto's state
    but none of the handlers of `boto_events`, so checking state counts no hub call."""
    return boto3.session.Session().client("ecr", region_name=django_settings.AWS_DEFAULT_REGION)


@dataclass(frozen=True)
class RetryNoted:
    attempt: int  # the attempt that failed, from 1
    status: str  # the repository's, read from the database when the retry is asked for
    detail: str
    countdown: float  # seconds Celery is asked to wait (eager mode runs at once)


@pytest.fixture
def retry_log():
    """Every retry a task asks Celery for, with the repository's row at that moment."""
    log: list[RetryNoted] = []

    def record(sender=None, request=None, reason=None, **kwargs):
        row = DockerRepo.objects.filter(pk=request.args[0]).values_list(
            "status", "status_detail"
        ).first() or ("gone", "")
        log.append(RetryNoted(request.retries + 1, *row, countdown=reason.when))

    signals.task_retry.connect(record, weak=False)
    yield log
    signals.task_retry.disconnect(record)


@pytest.fixture
def eager():
    """Tasks sent with apply_async run at once, in this process (Celery's eager mode)."""

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield app
    app.conf.task_always_eager = previous
