"""hub.tasks.converge: what a converging task does with each kind of failure, run by a
real Celery task in eager mode (retries run at once)."""

import pytest
from django.db import OperationalError

from hub.aws import AwsPermanentError, AwsTransientError
from hub.celery import app
from hub.choices import FailureKind
from hub.tasks import RetryingTask, backoff_seconds, converge

OUTCOMES: list = []
FAILURES: list = []
KINDS: list = []  # the FailureKind of each failure


def _work(object_id):
    failure = FAILURES.pop(0) if FAILURES else None
    if failure is not None:
        raise failure
    OUTCOMES.append(("done", object_id))


@app.task(bind=True, base=RetryingTask, name="tests.hub.converge_probe")
def probe(self, object_id):
    converge(
        self,
        work=_work,
        on_retry=lambda i, d: OUTCOMES.append(("retry", d)),
        on_failed=lambda i, r, kind: OUTCOMES.append(("failed", r)) or KINDS.append(kind),
        object_id=object_id,
    )


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
    assert OUTCOMES == [
        ("failed", "The hub's database failed while working on this; press Retry to try again.")
    ]
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


@app.task(bind=True, base=RetryingTask, max_retries=1, name="tests.hub.converge_probe_once")
def probe_retrying_once(self, object_id):
    converge(
        self,
        work=_work,
        on_retry=lambda i, d: OUTCOMES.append(("retry", d)),
        on_failed=lambda i, r, kind: OUTCOMES.append(("failed", r)) or KINDS.append(kind),
        object_id=object_id,
    )


def test_the_limit_is_the_tasks_max_retries_from_the_settings_unless_the_task_says(settings):
    settings.HUB_TASK_MAX_RETRIES = 4
    assert (probe.max_retries, probe_retrying_once.max_retries) == (4, 1)
    FAILURES.extend([AwsTransientError("AWS unreachable while trying to x")] * 5)
    probe.apply(args=[1])
    assert [kind for kind, _ in OUTCOMES] == ["retry"] * 4 + ["failed"]
    assert "gave up after 5 attempts" in OUTCOMES[-1][1]

    OUTCOMES.clear()
    FAILURES.extend([OperationalError("down")] * 2)
    probe_retrying_once.apply(args=[2])
    assert OUTCOMES[0][0] == "failed" and not FAILURES  # one database retry, then failed
    OUTCOMES.clear()
    FAILURES.extend([AwsTransientError("AWS unreachable while trying to x")] * 2)
    probe_retrying_once.apply(args=[3])
    assert [kind for kind, _ in OUTCOMES] == ["retry", "failed"]
    assert "gave up after 2 attempts" in OUTCOMES[-1][1]


def draws(retries: int, count: int = 300) -> list[float]:
    probe.push_request(retries=retries)
    try:
        return [backoff_seconds(probe) for _ in range(count)]
    finally:
        probe.pop_request()


def test_backoff_doubles_up_to_the_cap_with_full_jitter(settings):
    settings.HUB_TASK_RETRY_BASE = 2
    settings.HUB_TASK_RETRY_CAP = 10
    for retries, ceiling in [(0, 2), (1, 4), (2, 8), (3, 10), (9, 10)]:
        waits = draws(retries)
        assert all(0 <= wait <= ceiling for wait in waits), (retries, max(waits))
        # Spread over the whole range (full jitter), not stuck at one end.
        assert max(waits) > 0.8 * ceiling and min(waits) < 0.2 * ceiling, retries


def test_a_fraction_of_a_second_base_keeps_its_fractions(settings):
    """The tests' (and maybe an operator's) fast base: Celery draws whole numbers, the hub
    counts in milliseconds, so 0.2 s stays 0.2 s rather than becoming 0 or 1 s."""
    settings.HUB_TASK_RETRY_BASE = 0.2
    waits = draws(1)
    assert all(0 <= wait <= 0.4 for wait in waits)
    assert any(0 < wait < 0.4 and wait != round(wait) for wait in waits)
