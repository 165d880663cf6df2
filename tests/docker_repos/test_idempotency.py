"""Running a task twice, or again after the worker died half-way, ends in the same state;
a name already taken in ECR is adopted only when its tags say it is this repository."""

import json

import pytest

from docker_repos import services, tasks
from docker_repos.choices import TagMutability
from docker_repos.models import DockerRepo
from docker_repos.policy import render_lifecycle_policy, render_repository_policy
from hub.choices import Status
from hub.models import AuditEvent

from .support import (
    PULL_ROLES,
    Crash,
    ecr_repositories,
    ecr_state,
    ecr_tags,
    push_image,
    request_repo,
    run,
)

SETTINGS = {"tag_mutability": TagMutability.IMMUTABLE, "scan_on_push": False, "keep_last_images": 3}


class CrashAfter:
    """An `after-call.ecr` handler: the worker dies right after the `at`-th ECR call has
    been answered (AWS did it; the hub never learns). Records the operations seen."""

    def __init__(self):
        self.at: int | None = None
        self.operations: list[str] = []

    def reset(self, at: int | None) -> None:
        self.at, self.operations = at, []

    def __call__(self, model, **kwargs):
        self.operations.append(model.name)
        if self.at is not None and len(self.operations) == self.at:
            raise Crash(f"worker killed after {model.name}")


@pytest.fixture
def crash(boto_events):
    handler = CrashAfter()
    boto_events.register("after-call.ecr", handler)
    return handler


def expected_state(repo: DockerRepo) -> dict:
    """What ECR must hold for `repo` with SETTINGS and PULL_ROLES, from the rules."""
    return {
        "tag_mutability": "IMMUTABLE",
        "scan_on_push": False,
        "tags": {
            "managed-by": "platform-hub",
            "hub-project": "acp",
            "hub-service": "hello-world-app",
            "hub-repo-id": str(repo.pk),
        },
        "lifecycle": render_lifecycle_policy(keep_last_images=3),
        "policy": render_repository_policy(pull=PULL_ROLES, push=[]),
    }


def assert_converged(ecr, repo: DockerRepo) -> None:
    repo.refresh_from_db()
    assert repo.status == Status.ACTIVE, repo.status_detail
    state = ecr_state(ecr, repo.full_name)
    assert (repo.uri, repo.arn) == (state.pop("uri"), state.pop("arn"))
    assert state == expected_state(repo)
    assert ecr_repositories(ecr).count(repo.full_name) == 1
    assert (
        AuditEvent.objects.filter(action="docker_repo.active", target_id=str(repo.pk)).count() == 1
    )


def test_a_crash_after_any_aws_call_then_a_rerun_ends_in_the_same_state(
    world, ecr, crash, settings
):
    settings.HUB_ECR_PULL_PRINCIPALS = PULL_ROLES
    # A clean run first: the ECR calls provisioning makes, in order.
    clean = request_repo(world, "clean", **SETTINGS)
    crash.reset(at=None)
    run(tasks.provision_repo, clean.pk)
    assert_converged(ecr, clean)
    calls = list(crash.operations)
    assert calls[:2] == ["DescribeRepositories", "CreateRepository"]
    assert {"PutLifecyclePolicy", "SetRepositoryPolicy"} <= set(calls)

    for at in range(1, len(calls) + 1):  # after the last one: before the row is updated
        repo = request_repo(world, f"crash-{at}", **SETTINGS)
        crash.reset(at=at)
        with pytest.raises(Crash):
            tasks.provision_repo.apply(args=[repo.pk])
        repo.refresh_from_db()
        assert (repo.status, repo.uri) == (Status.PENDING, ""), f"crash after call {at}"

        crash.reset(at=None)  # Celery delivers the message again (acks_late)
        run(tasks.provision_repo, repo.pk)

        assert_converged(ecr, repo)


def test_provisioning_again_from_pending_changes_nothing(world, ecr, settings):
    settings.HUB_ECR_PULL_PRINCIPALS = PULL_ROLES
    repo = request_repo(world, "twice", **SETTINGS)
    run(tasks.provision_repo, repo.pk)
    repo.refresh_from_db()
    first = (repo.uri, repo.arn, ecr_state(ecr, repo.full_name))

    DockerRepo.objects.filter(pk=repo.pk).update(status=Status.PENDING)  # e.g. a lost ack
    run(tasks.provision_repo, repo.pk)

    repo.refresh_from_db()
    assert repo.status == Status.ACTIVE, repo.status_detail
    assert (repo.uri, repo.arn, ecr_state(ecr, repo.full_name)) == first
    assert ecr_repositories(ecr) == ["acp/twice"]


def test_the_task_on_an_active_repository_does_nothing(world, ecr, ecr_calls):
    repo = request_repo(world, "settled")
    run(tasks.provision_repo, repo.pk)
    before = DockerRepo.objects.filter(pk=repo.pk).values().get()
    events = AuditEvent.objects.count()
    ecr_calls.clear()

    run(tasks.provision_repo, repo.pk)
    run(tasks.provision_repo, repo.pk)

    assert ecr_calls == []
    assert DockerRepo.objects.filter(pk=repo.pk).values().get() == before
    assert AuditEvent.objects.count() == events


def test_a_crash_during_deletion_then_a_rerun_completes(world, ecr, boto_events):
    repo = request_repo(world, "doomed")
    run(tasks.provision_repo, repo.pk)
    repo.refresh_from_db()
    services.repo_delete(actor=world.users["member"], repo=repo)
    dead = []

    def die_once_deleted(**kwargs):
        if not dead:
            dead.append(True)
            raise Crash("worker killed after DeleteRepository")

    boto_events.register("after-call.ecr.DeleteRepository", die_once_deleted)
    with pytest.raises(Crash):
        tasks.destroy_repo.apply(args=[repo.pk])
    assert ecr_repositories(ecr) == []
    assert DockerRepo.objects.get(pk=repo.pk).status == Status.DELETING

    run(tasks.destroy_repo, repo.pk)

    assert not DockerRepo.objects.filter(pk=repo.pk).exists()
    assert (
        AuditEvent.objects.filter(action="docker_repo.deleted", target_id=str(repo.pk)).count() == 1
    )


# --- Partial states made by hand, as a crash would leave them ---------------------------


def create_in_ecr(ecr, name: str, *, tags: dict[str, str], **settings) -> dict:
    return ecr.create_repository(
        repositoryName=name, tags=[{"Key": k, "Value": v} for k, v in tags.items()], **settings
    )["repository"]


def ours(repo: DockerRepo) -> dict[str, str]:
    return {
        "managed-by": "platform-hub",
        "hub-project": "acp",
        "hub-service": "hello-world-app",
        "hub-repo-id": str(repo.pk),
    }


def test_our_repository_without_settings_or_policies_is_adopted_and_completed(world, ecr, settings):
    settings.HUB_ECR_PULL_PRINCIPALS = PULL_ROLES
    repo = request_repo(world, "half-made", **SETTINGS)
    made = create_in_ecr(
        ecr,
        "acp/half-made",
        tags=ours(repo),
        imageTagMutability="MUTABLE",
        imageScanningConfiguration={"scanOnPush": True},
    )

    run(tasks.provision_repo, repo.pk)

    assert_converged(ecr, repo)
    assert repo.arn == made["repositoryArn"], "the existing repository, adopted"


def test_adoption_replaces_stale_policies_with_the_rendered_ones(world, ecr, settings):
    """Desired: no lifecycle rule, no pull principals. ECR has both from an earlier run."""
    settings.HUB_ECR_PULL_PRINCIPALS = []
    repo = request_repo(world, "stale")
    create_in_ecr(ecr, "acp/stale", tags=ours(repo))
    ecr.put_lifecycle_policy(
        repositoryName="acp/stale",
        lifecyclePolicyText=json.dumps(render_lifecycle_policy(keep_last_images=9)),
    )
    ecr.set_repository_policy(
        repositoryName="acp/stale",
        policyText=json.dumps(render_repository_policy(pull=PULL_ROLES, push=[])),
    )

    run(tasks.provision_repo, repo.pk)

    repo.refresh_from_db()
    assert repo.status == Status.ACTIVE, repo.status_detail
    state = ecr_state(ecr, "acp/stale")
    assert (state["lifecycle"], state["policy"]) == (None, None)


FOREIGN_TAGS = {
    "no tags": {},
    "another hub repo id": {
        "managed-by": "platform-hub",
        "hub-project": "acp",
        "hub-repo-id": "999999",
    },
    "another hub project": {
        "managed-by": "platform-hub",
        "hub-project": "other",
        "hub-repo-id": None,
    },  # None: this repository's id
}


@pytest.mark.parametrize("tags", FOREIGN_TAGS.values(), ids=FOREIGN_TAGS.keys())
def test_a_name_taken_by_a_foreign_repository_fails_and_deleting_keeps_it(world, ecr, tags):
    repo = request_repo(world, "taken")
    tags = {k: (v if v is not None else str(repo.pk)) for k, v in tags.items()}
    foreign = create_in_ecr(
        ecr,
        "acp/taken",
        tags=tags,
        imageTagMutability="MUTABLE",
        imageScanningConfiguration={"scanOnPush": True},
    )
    ecr.put_lifecycle_policy(
        repositoryName="acp/taken",
        lifecyclePolicyText=json.dumps(render_lifecycle_policy(keep_last_images=50)),
    )
    push_image(ecr, "acp/taken", "v1")
    before = ecr_state(ecr, "acp/taken")

    run(tasks.provision_repo, repo.pk)

    repo.refresh_from_db()
    assert repo.status == Status.FAILED
    assert repo.status_detail.startswith(
        "The name acp/taken is already taken in ECR by a repository the hub does not manage."
    )
    assert (repo.uri, repo.arn) == ("", "")
    assert ecr_state(ecr, "acp/taken") == before, "the foreign repository is left as it was"

    # Deleting the failed request removes it from the hub, not the foreign repository.
    services.repo_delete(actor=world.users["member"], repo=repo)
    run(tasks.destroy_repo, repo.pk)

    assert not DockerRepo.objects.filter(pk=repo.pk).exists()
    assert ecr_repositories(ecr) == ["acp/taken"]
    assert ecr_tags(ecr, foreign["repositoryArn"]) == tags
    assert len(ecr.describe_images(repositoryName="acp/taken")["imageDetails"]) == 1


@pytest.mark.parametrize("owner", ["this repository", "someone else"])
def test_a_name_taken_between_look_up_and_create(world, ecr, boto_events, owner):
    """Another process creates the name after the hub looked it up and before its create:
    the create finds it taken, and the hub decides by the tags as above."""
    repo = request_repo(world, "raced")
    tags = ours(repo) if owner == "this repository" else {}

    def create_first(**kwargs):
        if "acp/raced" not in ecr_repositories(ecr):
            create_in_ecr(ecr, "acp/raced", tags=tags)

    boto_events.register("before-call.ecr.CreateRepository", create_first)

    run(tasks.provision_repo, repo.pk)

    repo.refresh_from_db()
    if owner == "this repository":
        assert repo.status == Status.ACTIVE, repo.status_detail
        assert ecr_tags(ecr, repo.arn) == tags
    else:
        assert repo.status == Status.FAILED
        assert "already taken" in repo.status_detail
    assert ecr_repositories(ecr) == ["acp/raced"]
