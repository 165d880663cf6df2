"""Transient AWS failures retry (botocore first, then Celery with backoff and jitter) and
say so on the row; permanent ones, and the last retry, mark it failed with a reason.

AWS misbehaves through botocore's own event system (see `boto_events` in conftest.py), and
through a closed port for "unreachable": nothing of the hub is replaced."""

import pytest

from docker_repos import services, tasks
from docker_repos.models import DockerRepo
from hub.choices import Status
from hub.models import AuditEvent
from tests.procs import free_port

from .support import aws_error, aws_http_error, ecr_repositories, request_repo, run


class Fail:
    """A botocore handler that answers the first `times` calls with an error (or every
    call with times=None), and counts the calls it saw."""

    def __init__(self, respond, times: int | None = None):
        self.respond = respond
        self.times = times
        self.calls = 0

    def __call__(self, **kwargs):
        self.calls += 1
        if self.times is None or self.calls <= self.times:
            return self.respond(**kwargs)
        return None


def throttled(**kwargs):
    return aws_error("ThrottlingException", 400, "Rate exceeded")


def test_throttled_create_retries_with_backoff_then_becomes_active(
    world, ecr, boto_events, retry_log, settings
):
    settings.HUB_TASK_MAX_RETRIES = 6
    settings.HUB_TASK_RETRY_BASE = 2  # eager mode does not wait: only the countdown is seen
    settings.HUB_TASK_RETRY_CAP = 300
    throttle = Fail(throttled, times=2)
    boto_events.register("before-call.ecr.CreateRepository", throttle)
    repo = request_repo(world, "web")

    run(tasks.provision_repo, repo.pk)

    busy = "AWS is busy (ThrottlingException) while trying to create repository acp/web"
    assert [(r.attempt, r.status, r.detail) for r in retry_log] == [
        (1, Status.PENDING, f"{busy} — retrying (attempt 1 of 7)"),
        (2, Status.PENDING, f"{busy} — retrying (attempt 2 of 7)"),
    ]
    # Exponential backoff (up to 2 s, then up to 4 s), Celery's full jitter.
    assert 0 <= retry_log[0].countdown <= 2
    assert 0 <= retry_log[1].countdown <= 4
    assert throttle.calls == 3
    repo.refresh_from_db()
    assert (repo.status, repo.status_detail) == (Status.ACTIVE, "")
    assert ecr_repositories(ecr) == ["acp/web"]


def test_throttled_past_the_last_retry_fails_with_a_reason(
    world, ecr, boto_events, retry_log, settings
):
    settings.HUB_TASK_MAX_RETRIES = 2
    boto_events.register("before-call.ecr.CreateRepository", Fail(throttled))
    repo = request_repo(world, "web")

    run(tasks.provision_repo, repo.pk)

    assert [r.attempt for r in retry_log] == [1, 2]
    repo.refresh_from_db()
    assert repo.status == Status.FAILED
    assert repo.status_detail == (
        "AWS is busy (ThrottlingException) while trying to create repository acp/web — gave "
        "up after 3 attempts; press Retry to try again"
    )
    assert (
        AuditEvent.objects.filter(action="docker_repo.failed", target_id=str(repo.pk)).count() == 1
    )
    assert ecr_repositories(ecr) == []


def test_botocore_absorbs_a_short_server_error_itself(world, ecr, boto_events, retry_log, settings):
    """A 5xx answered once: botocore's standard retry mode sends the call again, within
    the same task run (no Celery retry, no message on the row)."""
    settings.HUB_AWS_MAX_ATTEMPTS = 3
    server_error = Fail(
        lambda request, **kw: aws_http_error(request, "ServerException", 500), times=1
    )
    boto_events.register("before-send.ecr.DescribeRepositories", server_error)
    repo = request_repo(world, "web")

    run(tasks.provision_repo, repo.pk)

    assert server_error.calls >= 2, "botocore sent the call again"
    assert retry_log == []
    repo.refresh_from_db()
    assert repo.status == Status.ACTIVE, repo.status_detail


def test_hub_aws_max_attempts_counts_the_first_try(world, ecr, boto_events, retry_log, settings):
    """HUB_AWS_MAX_ATTEMPTS=1: one try per call, so the 5xx goes straight to Celery."""
    settings.HUB_AWS_MAX_ATTEMPTS = 1
    server_error = Fail(
        lambda request, **kw: aws_http_error(request, "ServerException", 500), times=1
    )
    boto_events.register("before-send.ecr.DescribeRepositories", server_error)
    repo = request_repo(world, "web")

    run(tasks.provision_repo, repo.pk)

    assert [(r.attempt, r.detail) for r in retry_log] == [
        (
            1,
            "AWS is busy (ServerException) while trying to look up repository acp/web — "
            "retrying (attempt 1 of 7)",
        ),
    ]
    repo.refresh_from_db()
    assert repo.status == Status.ACTIVE, repo.status_detail


def test_unreachable_endpoint_retries_then_fails_and_retry_recovers(
    world, ecr, retry_log, settings
):
    settings.AWS_ENDPOINT_URL = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    settings.HUB_AWS_MAX_ATTEMPTS = 1
    settings.HUB_AWS_CONNECT_TIMEOUT = 0.5
    settings.HUB_TASK_MAX_RETRIES = 2
    repo = request_repo(world, "web")

    run(tasks.provision_repo, repo.pk)

    unreachable = "AWS unreachable while trying to look up repository acp/web"
    assert [(r.attempt, r.status, r.detail) for r in retry_log] == [
        (1, Status.PENDING, f"{unreachable} — retrying (attempt 1 of 3)"),
        (2, Status.PENDING, f"{unreachable} — retrying (attempt 2 of 3)"),
    ]
    repo.refresh_from_db()
    assert repo.status == Status.FAILED
    assert repo.status_detail == (
        f"{unreachable} — gave up after 3 attempts; press Retry to try again"
    )

    settings.AWS_ENDPOINT_URL = ""  # AWS (moto) is back
    services.repo_retry(actor=world.users["member"], repo=repo)
    run(tasks.provision_repo, repo.pk)

    repo.refresh_from_db()
    assert (repo.status, repo.status_detail) == (Status.ACTIVE, "")
    assert ecr_repositories(ecr) == ["acp/web"]


def test_a_permanent_error_fails_at_once(world, ecr, boto_events, retry_log):
    denied = Fail(lambda **kw: aws_error("AccessDeniedException", 400, "not authorized"))
    boto_events.register("before-call.ecr.CreateRepository", denied)
    repo = request_repo(world, "web")

    run(tasks.provision_repo, repo.pk)

    assert retry_log == []
    assert denied.calls == 1
    repo.refresh_from_db()
    assert repo.status == Status.FAILED
    assert repo.status_detail == (
        "AWS denied the hub permission to create repository acp/web (AccessDeniedException): "
        "an operator must check the hub's IAM policy"
    )


def test_an_unexpected_error_fails_with_a_message_instead_of_staying_pending(
    world, ecr, boto_events, retry_log
):
    def bug(**kwargs):
        raise RuntimeError("boom")

    boto_events.register("before-call.ecr.CreateRepository", bug)
    repo = request_repo(world, "web")

    run(tasks.provision_repo, repo.pk)

    repo.refresh_from_db()
    assert repo.status == Status.FAILED
    assert "Unexpected error in the hub (RuntimeError)" in repo.status_detail
    assert "boom" not in repo.status_detail


def test_a_failed_deletion_is_retried_as_a_deletion(world, ecr, boto_events, retry_log, settings):
    settings.HUB_TASK_MAX_RETRIES = 1
    repo = request_repo(world, "web")
    run(tasks.provision_repo, repo.pk)
    throttle = Fail(throttled)
    boto_events.register("before-call.ecr.DeleteRepository", throttle)
    repo.refresh_from_db()
    services.repo_delete(actor=world.users["member"], repo=repo)

    run(tasks.destroy_repo, repo.pk)

    assert [(r.attempt, r.status) for r in retry_log] == [(1, Status.DELETING)]
    assert "retrying (attempt 1 of 2)" in retry_log[0].detail
    repo.refresh_from_db()
    assert repo.status == Status.FAILED
    assert "delete repository acp/web" in repo.status_detail
    failed = AuditEvent.objects.get(action="docker_repo.failed", target_id=str(repo.pk))
    assert failed.detail["while"] == "deleting"
    assert ecr_repositories(ecr) == ["acp/web"]

    throttle.times = 0  # AWS calms down
    services.repo_retry(actor=world.users["member"], repo=repo)
    repo.refresh_from_db()
    assert repo.status == Status.DELETING, "Retry resumes the deletion, not the creation"
    run(tasks.destroy_repo, repo.pk)

    assert not DockerRepo.objects.filter(pk=repo.pk).exists()
    assert ecr_repositories(ecr) == []


@pytest.mark.parametrize("status", [Status.PENDING, Status.ACTIVE, Status.DELETING])
def test_only_a_failed_repository_can_be_retried(world, status):
    repo = request_repo(world, "web")
    DockerRepo.objects.filter(pk=repo.pk).update(status=status)
    repo.refresh_from_db()
    with pytest.raises(services.Conflict, match="Only a failed repository"):
        services.repo_retry(actor=world.users["member"], repo=repo)
    repo.refresh_from_db()
    assert repo.status == status
    assert not AuditEvent.objects.filter(action="docker_repo.retried").exists()
