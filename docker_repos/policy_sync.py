"""Writing a repository's policy from its access list, run by the `sync_repo_access`
task: the policy is rendered from the rows and written whole, then exactly the entries
that policy decided move on (pending ones it contains become active, removing ones it
left out are deleted; robots: their IAM user first)."""

from django.db import transaction
from django.utils import timezone

from hub.audit import audit
from hub.aws import AwsPermanentError, AwsTransientError
from hub.choices import Status, move, move_where
from hub.tasks import enqueue_on_commit

from . import ecr, selectors
from .access import lock_repo_id
from .models import DockerRepo, RepoAccess, RobotAccount
from .policy import PolicyTooLarge

# How often one sync re-writes the policy when the access list changed while it wrote.
SYNC_ROUNDS = 3


def access_sync(repo_id: int) -> None:
    """Write the repository policy rendered from the access list, then record what it
    decided. Re-writes if the list changed while it wrote, so an older document never
    stays in AWS."""
    repo = (
        DockerRepo.objects.select_related("project")
        .filter(pk=repo_id, status=Status.ACTIVE)
        .first()
    )
    if repo is None:
        return  # not active (being created again, or deleted): its own task writes it
    for _ in range(SYNC_ROUNDS):
        plan = selectors.repo_policy_plan(repo)
        try:
            document = plan.document()
        except PolicyTooLarge as exc:
            raise AwsPermanentError(str(exc), code="PolicyTooLarge") from None
        ecr.set_repository_policy(repo.full_name, document)
        if selectors.repo_policy_plan(repo) == plan:
            break
    else:
        raise AwsTransientError(
            f"The access list of {repo.full_name} kept changing while its policy was written",
            code="AccessChanging",
        )
    _record_written(repo, plan)


def _record_written(repo: DockerRepo, plan: selectors.PolicyPlan) -> None:
    with transaction.atomic():
        lock_repo_id(repo.pk)
        robots = list(
            RobotAccount.objects.select_for_update(of=("self",))
            .filter(
                pk__in=plan.robots,
                status=Status.PENDING,
                rotation_requested=False,
                removal_requested=False,
            )
            .select_related("repo__project")
        )
        move_where(RobotAccount.objects.filter(pk__in=[r.pk for r in robots]), Status.ACTIVE)
        for robot in robots:
            audit(
                actor=None,
                action="robot.active",
                target=robot,
                project=repo.project,
                detail={"iam_username": robot.iam_username},
            )
        accesses: list[RepoAccess] = []
        for writable, ids in ((False, plan.readers), (True, plan.writers)):
            accesses += (
                RepoAccess.objects.select_for_update(of=("self",))
                .filter(
                    pk__in=ids, status=Status.PENDING, writable=writable, removal_requested=False
                )
                .select_related("user", "repo__project")
            )
        move_where(RepoAccess.objects.filter(pk__in=[a.pk for a in accesses]), Status.ACTIVE)
        for access in accesses:
            audit(
                actor=None,
                action="repo_access.active",
                target=access,
                project=repo.project,
                detail={"user": access.user.username, "writable": access.writable},
            )
        removed = list(
            RepoAccess.objects.select_for_update(of=("self",))
            .filter(pk__in=plan.removing_accesses, status=Status.REMOVING)
            .select_related("user", "repo__project")
        )
        for access in removed:
            audit(
                actor=None,
                action="repo_access.removed",
                target=access,
                project=repo.project,
                detail={"user": access.user.username, "writable": access.writable},
            )
        RepoAccess.objects.filter(pk__in=[a.pk for a in removed]).delete()
        for robot_id in sorted(plan.removing_robots):
            enqueue_on_commit("docker_repos.tasks.destroy_robot", robot_id)


def _sync_targets(repo_id: int):
    """The entries a failing sync was about: those it would have written or removed."""
    repo = DockerRepo.objects.filter(pk=repo_id).first()
    if repo is None:
        return RobotAccount.objects.none(), RepoAccess.objects.none()
    plan = selectors.repo_policy_plan(repo)
    robots = RobotAccount.objects.filter(repo_id=repo_id).filter(
        pk__in=[*plan.robots, *plan.removing_robots],
        status__in=[Status.PENDING, Status.REMOVING],
        rotation_requested=False,
    )
    accesses = RepoAccess.objects.filter(repo_id=repo_id).filter(
        pk__in=[*plan.readers, *plan.writers, *plan.removing_accesses],
        status__in=[Status.PENDING, Status.REMOVING],
    )
    return robots, accesses


def access_note_retrying(repo_id: int, detail: str) -> None:
    robots, accesses = _sync_targets(repo_id)
    with transaction.atomic():
        lock_repo_id(repo_id)
        for queryset in (robots, accesses):
            queryset.update(status_detail=detail, updated_at=timezone.now())


def access_mark_failed(repo_id: int, reason: str, kind: str = "") -> None:
    """The sync gave up: the entries it was about are failed with the reason (only
    repositories are re-sent on their own, so `kind` is not stored here)."""
    robots, accesses = _sync_targets(repo_id)
    with transaction.atomic():
        lock_repo_id(repo_id)
        names = []
        for entry in [
            *robots.select_for_update(of=("self",)).select_related("repo__project"),
            *accesses.select_for_update(of=("self",)).select_related("user", "repo__project"),
        ]:
            move(entry, Status.FAILED, reason)
            names.append(entry.name if isinstance(entry, RobotAccount) else entry.user.username)
        repo = DockerRepo.objects.select_related("project").filter(pk=repo_id).first()
        if names and repo is not None:
            audit(
                actor=None,
                action="docker_repo.access_failed",
                target=repo,
                project=repo.project,
                detail={"reason": reason, "entries": names},
            )
