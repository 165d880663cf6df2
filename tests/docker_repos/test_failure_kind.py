"""Why a repository failed is a field (DockerRepo.failure_kind), not a sentence: the
reconciler re-sends the repositories that failed only because AWS stayed unreachable or
busy by that field, so rewording the message people read changes nothing."""

import importlib

import pytest
from django.apps import apps

from docker_repos.models import DockerRepo
from docker_repos.reconcile import reconcile
from hub import tasks as hub_tasks
from hub.choices import FailureKind, Status
from tests.access_helpers import converging

from .support import aws_error, ecr_repositories, request_repo


class Busy:
    """ECR answers CreateRepository with throttling while `on`."""

    on = True

    def __call__(self, **kwargs):
        return aws_error("ThrottlingException", 400, "Rate exceeded") if self.on else None


def test_a_reworded_give_up_message_is_still_sent_again(
    world, ecr, boto_events, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.HUB_TASK_MAX_RETRIES = 1
    settings.HUB_RECONCILE_STUCK_AFTER = 0
    monkeypatch.setattr(hub_tasks, "GAVE_UP", " — stopped trying after")  # new wording
    busy = Busy()
    boto_events.register("before-call.ecr.CreateRepository", busy)
    with converging(django_capture_on_commit_callbacks):
        repo = request_repo(world, "web")
    repo.refresh_from_db()
    assert (repo.status, repo.failure_kind) == (Status.FAILED, FailureKind.GAVE_UP)
    assert "stopped trying after 2 attempts" in repo.status_detail
    assert "gave up" not in repo.status_detail

    busy.on = False  # AWS answers again
    with converging(django_capture_on_commit_callbacks):
        report = reconcile()
    assert report.requeued == ["acp/web"]
    repo.refresh_from_db()
    assert (repo.status, repo.failure_kind) == (Status.ACTIVE, FailureKind.NONE)
    assert ecr_repositories(ecr) == ["acp/web"]


def test_a_refused_repository_is_not_sent_again(
    world, ecr, boto_events, settings, django_capture_on_commit_callbacks
):
    """A permanent refusal waits for a person's Retry, whatever its message says."""
    boto_events.register(
        "before-call.ecr.CreateRepository",
        lambda **kwargs: aws_error(
            "InvalidParameterException", 400, "refused — gave up after nothing"
        ),
    )
    with converging(django_capture_on_commit_callbacks):
        repo = request_repo(world, "web")
    repo.refresh_from_db()
    assert (repo.status, repo.failure_kind) == (Status.FAILED, FailureKind.AWS_ERROR)
    with converging(django_capture_on_commit_callbacks):
        report = reconcile()
    assert report.requeued == []
    assert DockerRepo.objects.get(pk=repo.pk).status == Status.FAILED


@pytest.mark.parametrize(
    ("detail", "kind"),
    [
        (
            "AWS unreachable while trying to x — gave up after 3 attempts; press Retry to try "
            "again",
            FailureKind.GAVE_UP,
        ),
        (
            "The hub's database failed while working on this; press Retry to try again.",
            FailureKind.DATABASE,
        ),
        (
            "Unexpected error in the hub (KeyError); the operators can see it in the worker log. "
            "Press Retry to try again.",
            FailureKind.BUG,
        ),
        (
            "The name acp/web is already taken in ECR by a repository the hub does not manage.",
            FailureKind.AWS_ERROR,
        ),
    ],
)
def test_the_migration_gives_failed_rows_their_kind(world, detail, kind):
    migration = importlib.import_module("docker_repos.migrations.0003_dockerrepo_failure_kind")
    failed = DockerRepo.objects.create(
        project=world.project,
        service=world.service,
        name="web",
        status=Status.FAILED,
        status_detail=detail,
    )
    active = DockerRepo.objects.create(
        project=world.project,
        service=world.service,
        name="api",
        status=Status.ACTIVE,
        status_detail="— gave up after",
    )
    migration.kinds_from_details(apps, None)
    failed.refresh_from_db()
    active.refresh_from_db()
    assert (failed.failure_kind, active.failure_kind) == (kind, FailureKind.NONE)
