"""A repository's whole life through the Celery tasks, against moto: request -> pending ->
active (with everything the hub sets in ECR) -> delete -> deleting -> gone, and its audit."""

import pytest

from docker_repos import services
from docker_repos.choices import TagMutability
from docker_repos.models import DockerRepo
from docker_repos.policy import PULL_ACTIONS
from hub.choices import Status
from hub.models import AuditEvent
from tests.access_helpers import converging, send_enqueued

from .support import (
    PULL_ROLES,
    ecr_repositories,
    ecr_state,
    push_image,
    request_repo,
)

ACCOUNT = "123456789012"  # moto's account


def audit_trail(repo_id) -> list[tuple[str, str]]:
    return list(
        AuditEvent.objects.filter(target_type="dockerrepo", target_id=str(repo_id))
        .order_by("id")
        .values_list("action", "actor_username")
    )


def test_request_provision_delete_destroy(world, ecr, settings, django_capture_on_commit_callbacks):
    settings.HUB_ECR_PULL_PRINCIPALS = PULL_ROLES
    region = settings.AWS_DEFAULT_REGION
    member = world.users["member"]

    with django_capture_on_commit_callbacks() as sent:
        repo = services.repo_request(
            actor=member,
            project=world.project,
            service=world.service,
            name="hello-world-app",
            description="The app",
            tag_mutability=TagMutability.IMMUTABLE,
            scan_on_push=True,
            keep_last_images=5,
        )
    assert len(sent) == 1, "one task is sent, after the commit"
    repo.refresh_from_db()
    assert (repo.status, repo.uri, repo.arn) == (Status.PENDING, "", "")
    assert repo.requested_by == member
    assert ecr_repositories(ecr) == [], "the web request itself never calls AWS"

    send_enqueued(django_capture_on_commit_callbacks, sent)

    repo.refresh_from_db()
    assert repo.status == Status.ACTIVE, repo.status_detail
    assert repo.status_detail == ""
    assert repo.uri == f"{ACCOUNT}.dkr.ecr.{region}.amazonaws.com/acp/hello-world-app"
    assert repo.arn == f"arn:aws:ecr:{region}:{ACCOUNT}:repository/acp/hello-world-app"
    state = ecr_state(ecr, "acp/hello-world-app")
    assert (state["uri"], state["arn"]) == (repo.uri, repo.arn)
    assert state["tags"] == {
        "managed-by": "platform-hub",
        "hub-project": "acp",
        "hub-service": "hello-world-app",
        "hub-repo-id": str(repo.pk),
    }
    assert state["tag_mutability"] == "IMMUTABLE"
    assert state["scan_on_push"] is True
    [rule] = state["lifecycle"]["rules"]
    assert rule["selection"] == {
        "tagStatus": "any",
        "countType": "imageCountMoreThan",
        "countNumber": 5,
    }
    assert rule["action"] == {"type": "expire"}
    [statement] = state["policy"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert sorted(statement["Principal"]["AWS"]) == sorted(PULL_ROLES)
    assert sorted(statement["Action"]) == sorted(PULL_ACTIONS), "pull only, no push"

    with django_capture_on_commit_callbacks() as sent:
        services.repo_delete(actor=member, repo=repo)
    assert len(sent) == 1
    repo.refresh_from_db()
    assert repo.status == Status.DELETING
    assert ecr_repositories(ecr) == ["acp/hello-world-app"], "deleted by the task, not the web"

    send_enqueued(django_capture_on_commit_callbacks, sent)

    assert not DockerRepo.objects.filter(pk=repo.pk).exists()
    assert ecr_repositories(ecr) == []
    assert audit_trail(repo.pk) == [
        ("docker_repo.requested", "member"),
        ("docker_repo.active", ""),
        ("docker_repo.delete_requested", "member"),
        ("docker_repo.deleted", ""),
    ]


def test_without_lifecycle_rule_or_pull_principals_nothing_extra_is_written(
    world, ecr, settings, django_capture_on_commit_callbacks
):
    settings.HUB_ECR_PULL_PRINCIPALS = []
    with converging(django_capture_on_commit_callbacks):
        repo = request_repo(
            world, "plain", tag_mutability=TagMutability.MUTABLE, scan_on_push=False
        )

    repo.refresh_from_db()
    assert repo.status == Status.ACTIVE, repo.status_detail
    state = ecr_state(ecr, "acp/plain")
    assert (state["tag_mutability"], state["scan_on_push"]) == ("MUTABLE", False)
    assert state["lifecycle"] is None
    assert state["policy"] is None


def test_sent_on_commit_and_run_by_celery(world, ecr, eager, django_capture_on_commit_callbacks):
    """The request's own on-commit message runs the task (Celery eager mode)."""
    with django_capture_on_commit_callbacks(execute=True):
        repo = request_repo(world, "wired")
    repo.refresh_from_db()
    assert repo.status == Status.ACTIVE, repo.status_detail

    with django_capture_on_commit_callbacks(execute=True):
        services.repo_delete(actor=world.users["member"], repo=repo)
    assert not DockerRepo.objects.filter(pk=repo.pk).exists()
    assert ecr_repositories(ecr) == []


def test_failure_and_retry_are_audited(world, ecr, django_capture_on_commit_callbacks):
    # Someone outside the hub holds the name: the request fails with the reason.
    ecr.create_repository(repositoryName="acp/taken")
    with converging(django_capture_on_commit_callbacks):
        repo = request_repo(world, "taken")

    repo.refresh_from_db()
    assert repo.status == Status.FAILED
    assert "already taken" in repo.status_detail
    failed = AuditEvent.objects.get(action="docker_repo.failed", target_id=str(repo.pk))
    assert failed.detail == {"reason": repo.status_detail, "while": "creating"}

    # The operator removes the other repository; the member presses Retry.
    ecr.delete_repository(repositoryName="acp/taken")
    with django_capture_on_commit_callbacks() as sent:
        services.repo_retry(actor=world.users["member"], repo=repo)
    repo.refresh_from_db()
    assert (repo.status, repo.status_detail) == (Status.PENDING, "")

    send_enqueued(django_capture_on_commit_callbacks, sent)  # the retry's own message

    repo.refresh_from_db()
    assert repo.status == Status.ACTIVE, repo.status_detail
    assert audit_trail(repo.pk) == [
        ("docker_repo.requested", "member"),
        ("docker_repo.failed", ""),
        ("docker_repo.retried", "member"),
        ("docker_repo.active", ""),
    ]


def test_deleting_a_repository_with_images_deletes_them_too(
    world, ecr, django_capture_on_commit_callbacks
):
    with converging(django_capture_on_commit_callbacks):
        repo = request_repo(world, "with-images")
    for number, tag in enumerate(["v1", "v2", "latest"]):
        push_image(ecr, "acp/with-images", tag, layer=str(number))
    assert len(ecr.describe_images(repositoryName="acp/with-images")["imageDetails"]) == 3
    repo.refresh_from_db()

    with converging(django_capture_on_commit_callbacks):
        services.repo_delete(actor=world.users["member"], repo=repo)

    assert not DockerRepo.objects.filter(pk=repo.pk).exists()
    assert ecr_repositories(ecr) == []
    with pytest.raises(ecr.exceptions.RepositoryNotFoundException):
        ecr.describe_images(repositoryName="acp/with-images")


def test_deleting_a_repository_already_gone_from_ecr_completes(
    world, ecr, django_capture_on_commit_callbacks
):
    with converging(django_capture_on_commit_callbacks):
        repo = request_repo(world, "vanished")
    ecr.delete_repository(repositoryName="acp/vanished", force=True)  # outside the hub
    repo.refresh_from_db()

    with converging(django_capture_on_commit_callbacks):
        services.repo_delete(actor=world.users["member"], repo=repo)

    assert not DockerRepo.objects.filter(pk=repo.pk).exists()
    assert (
        AuditEvent.objects.filter(action="docker_repo.deleted", target_id=str(repo.pk)).count() == 1
    )


def test_a_pending_repository_cannot_be_deleted_yet(world, ecr):
    repo = request_repo(world, "early")
    with pytest.raises(services.Conflict, match="still being created"):
        services.repo_delete(actor=world.users["member"], repo=repo)
    repo.refresh_from_db()
    assert repo.status == Status.PENDING
