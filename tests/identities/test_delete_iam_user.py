"""identities.tasks.delete_iam_user: the IAM user of a deleted person or robot is deleted by
a task whose retries are Celery's own (autoretry_for), limited by HUB_TASK_MAX_RETRIES like
every other AWS task. AWS misbehaves through botocore's events (moto answers otherwise)."""

import logging

import pytest
from celery import signals

from identities import services
from identities.iam import IAM_PATH
from tests.access_helpers import converging, iam_users, own_client
from tests.docker_repos.support import aws_error

NAME = "hub-robot-gone"


class Answer:
    """Answers DeleteUser with `respond` the first `times` calls (every call with None)."""

    def __init__(self, respond, times=None):
        self.respond, self.times, self.calls = respond, times, 0

    def __call__(self, **kwargs):
        self.calls += 1
        if self.times is None or self.calls <= self.times:
            return self.respond(**kwargs)
        return None


def throttled(**kwargs):
    return aws_error("Throttling", 400, "Rate exceeded")


def denied(**kwargs):
    return aws_error("AccessDenied", 403, "not authorized")


@pytest.fixture
def retries():
    """The retry countdowns Celery was asked for, one per retry."""
    seen: list[float] = []

    def record(sender=None, reason=None, **kwargs):
        if sender.name == "identities.tasks.delete_iam_user":
            seen.append(reason.when)

    signals.task_retry.connect(record, weak=False)
    yield seen
    signals.task_retry.disconnect(record)


@pytest.fixture
def hub_user(aws):
    own_client("iam").create_user(UserName=NAME, Path=IAM_PATH)
    assert NAME in iam_users()


def delete(capture):
    with converging(capture):
        services.iam_user_delete_on_commit(NAME)


def test_a_throttled_deletion_is_retried_by_celery_and_succeeds(
    db, hub_user, boto_events, retries, django_capture_on_commit_callbacks
):  # noqa: F811
    answer = Answer(throttled, times=2)
    boto_events.register("before-call.iam.DeleteUser", answer)

    delete(django_capture_on_commit_callbacks)

    assert answer.calls == 3
    assert len(retries) == 2
    assert NAME not in iam_users()


@pytest.mark.parametrize("limit", [0, 2])
def test_retries_stop_at_the_hubs_limit_not_a_number_of_the_tasks_own(
    db,
    hub_user,
    boto_events,
    retries,
    settings,
    limit,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    settings.HUB_TASK_MAX_RETRIES = limit
    answer = Answer(throttled)
    boto_events.register("before-call.iam.DeleteUser", answer)

    delete(django_capture_on_commit_callbacks)

    assert answer.calls == limit + 1
    assert len(retries) == limit
    assert NAME in iam_users(), "still there: the reconciler's sweep deletes it later"


def test_a_permanent_failure_is_logged_for_the_operators_without_retrying(
    db,
    hub_user,
    boto_events,
    retries,
    caplog,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    answer = Answer(denied)
    boto_events.register("before-call.iam.DeleteUser", answer)

    with caplog.at_level(logging.ERROR, logger="identities.tasks"):
        delete(django_capture_on_commit_callbacks)

    assert answer.calls == 1
    assert retries == []
    assert [r.getMessage() for r in caplog.records if r.name == "identities.tasks"] == [
        f"Could not delete IAM user {NAME}: AWS denied the hub permission to delete IAM user "
        f"{NAME} (AccessDenied): an operator must check the hub's IAM policy"
    ]
