"""hub.tasks.converge: what a converging task does with each kind of failure, run by a
real Celery task in eager mode (retries run at once)."""

import pytest
from django.db import OperationalError

from hub.aws import AwsPermanentError, AwsTransientError
from hub.celery import app
from hub.choices import FailureKind
from hub.tasks import converge

OUTCOMES: list = []
FAILURES: list = []
KINDS: list = []  # the FailureKind of each failure


def _work(object_id):
    failure = FAILURES.pop(0) if FAILURES else None
    if failure is not None:
        raise failure
    OUTCOMES.append(("done", object_id))


@app.task(bind=True, max_retries=None, name="tests.hub.converge_probe")
def probe(self, object_id):
    converge(self, work=_work, on_retry=lambda i, d: OUTCOMES.append(("retry", d)),
             on_failed=lambda i, r, kind: OUTCOMES.append(("failed", r)) or KINDS.append(kind),
             object_id=object_id)


@pytest.fixture(autouse=True)
def _clean(settings):
    settings.HUB_TASK_RETRY_BASE = 0
    settings.HUB_TASK_MAX_RETRIES = 2
    OUTCOMES.clear()
    FAILURES.clear()
    KINDS.clear()


def test_a_database_error_is_retried_then_succeeds():
    FAILURES.extend([OperationalError("deadlock detected"), OperationalError("server closed")])
    probe.apply(args=[7])
    assert OUTCOMES == [("done", 7)]


def test_a_database_error_that_lasts_ends_failed_with_a_reason():
    FAILURES.extend([OperationalError("down")] * 3)
    probe.apply(args=[7])
    assert OUTCOMES == [("failed", "The hub's database failed while working on this; press "
                                   "Retry to try again.")]
    assert KINDS == [FailureKind.DATABASE]


def test_transient_aws_errors_retry_with_a_note_and_give_up_with_a_reason():
    FAILURES.extend([AwsTransientError("AWS unreachable while trying to x")] * 3)
    probe.apply(args=[1])
    assert [kind for kind, _ in OUTCOMES] == ["retry", "retry", "failed"]
    assert OUTCOMES[0][1].endswith("retrying (attempt 1 of 3)")
    assert "gave up after 3 attempts" in OUTCOMES[-1][1]
    assert KINDS == [FailureKind.GAVE_UP]


def test_permanent_aws_errors_and_bugs_fail_at_once():
    FAILURES.append(AwsPermanentError("AWS refused the name"))
    probe.apply(args=[1])
    FAILURES.append(KeyError("bug"))
    probe.apply(args=[2])
    assert OUTCOMES[0] == ("failed", "AWS refused the name")
    assert OUTCOMES[1][0] == "failed" and "Unexpected error in the hub (KeyError)" in OUTCOMES[1][1]
    assert KINDS == [FailureKind.AWS_ERROR, FailureKind.BUG]
