"""Repositories: every change goes through these functions. Web requests only write the
desired state and enqueue a task after commit; the `repo_provision` / `repo_destroy`
functions, run by tasks, converge ECR to it and record the outcome."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from hub.audit import audit
from hub.aws import AwsPermanentError, AwsTransientError
from hub.choices import FailureKind, Status, move, move_where
from hub.exceptions import Conflict, InvalidInput, NotFound
from hub.tasks import enqueue_on_commit
from identities import iam
from projects.models import Project, Service

from . import ecr, selectors
from .access import access_enqueue_pending
from .choices import TagMutability
from .models import DockerRepo
from .permissions import require_repo_manager
from .policy import PolicyTooLarge, render_lifecycle_policy

PROVISION_REPO = "docker_repos.tasks.provision_repo"
DESTROY_REPO = "docker_repos.tasks.destroy_repo"


# --- Requests from people ---------------------------------------------------------------


def repo_request(
    *,
    actor,
    project: Project,
    service: Service | int,
    name: str,
    description: str = "",
    tag_mutability: str = TagMutability.MUTABLE,
    scan_on_push: bool = True,
    keep_last_images: int | None = None,
) -> DockerRepo:
    require_repo_manager(actor, project)
    chosen = (
        service
        if isinstance(service, Service)
        else Service.objects.filter(project=project, pk=service).first()
    )
    if chosen is None or chosen.project_id != project.pk:
        message = "Choose a service of this project."
        raise InvalidInput(message, fields={"service": [message]})
    repo = DockerRepo(
        project=project,
        service=chosen,
        name=(name or "").strip(),
        description=description or "",
        tag_mutability=tag_mutability,
        scan_on_push=scan_on_push,
        keep_last_images=keep_last_images,
        requested_by=actor if actor.is_authenticated else None,
    )
    try:
        repo.full_clean(validate_constraints=False)
    except ValidationError as exc:
        raise InvalidInput.from_django(exc) from None
    duplicate = Conflict(
        f"A repository named {repo.full_name} already exists.",
        fields={"name": ["A repository with this name already exists in the project."]},
    )
    if DockerRepo.objects.filter(project=project, name=repo.name).exists():
        raise duplicate
    try:
        with transaction.atomic():
            repo.save()
            audit(
                actor=actor,
                action="docker_repo.requested",
                target=repo,
                project=project,
                detail={
                    "service": chosen.name,
                    "tag_mutability": tag_mutability,
                    "scan_on_push": scan_on_push,
                    "keep_last_images": keep_last_images,
                },
            )
            enqueue_on_commit(PROVISION_REPO, repo.pk)
    except IntegrityError:
        raise duplicate from None  # someone asked for the same name a moment earlier
    return repo


def repo_delete(*, actor, repo: DockerRepo) -> DockerRepo:
    require_repo_manager(actor, repo.project)
    with transaction.atomic():
        locked = DockerRepo.objects.select_for_update().filter(pk=repo.pk).first()
        if locked is None:  # deleted by the worker since the caller read it
            raise NotFound(f"{repo.full_name} has already been deleted.")
        if locked.status == Status.DELETING:
            return locked  # already on its way out
        if locked.status == Status.PENDING:
            raise Conflict(
                f"{locked.full_name} is still being created: delete it once it is active or failed."
            )
        move(locked, Status.DELETING, delete_requested=True)
        audit(
            actor=actor,
            action="docker_repo.delete_requested",
            target=locked,
            project=locked.project,
        )
        enqueue_on_commit(DESTROY_REPO, locked.pk)
    return locked


def repo_retry(*, actor, repo: DockerRepo) -> DockerRepo:
    require_repo_manager(actor, repo.project)
    return _resume(repo, actor=actor)


def repo_resume_given_up(*, repo: DockerRepo) -> DockerRepo:
    """The reconciler's retry of a repository that failed only because AWS stayed
    unreachable or busy (Conflict if it is no longer failed)."""
    return _resume(repo, actor=None, detail="AWS answers again: retrying.")


def _resume(repo: DockerRepo, *, actor, detail: str = "") -> DockerRepo:
    """Failed → the transition that failed (creating or deleting), sent again."""
    with transaction.atomic():
        locked = DockerRepo.objects.select_for_update().get(pk=repo.pk)
        if locked.status != Status.FAILED:
            raise Conflict(
                f"Only a failed repository can be retried; {locked.full_name} is "
                f"{locked.get_status_display().lower()}."
            )
        move(
            locked,
            Status.DELETING if locked.delete_requested else Status.PENDING,
            detail,
            failure_kind=FailureKind.NONE,
        )
        audit(
            actor=actor,
            action="docker_repo.retried",
            target=locked,
            project=locked.project,
            detail={"status": locked.status, **({} if actor else {"by": "reconciler"})},
        )
        enqueue_on_commit(DESTROY_REPO if locked.delete_requested else PROVISION_REPO, locked.pk)
    return locked


def repo_enqueue_pending(*, repo: DockerRepo) -> None:
    """Send the task that moves a repository out of its transitional state (reconciler)."""
    enqueue_on_commit(DESTROY_REPO if repo.status == Status.DELETING else PROVISION_REPO, repo.pk)


def repo_requeue_stuck(*, repo: DockerRepo) -> bool:
    """The reconciler's re-send of a repository stuck in its transitional state (a lost
    message, a killed worker): the row is touched, so the next pass waits another
    threshold, and its task sent again. False if the row changed since it was read."""
    with transaction.atomic():
        moved = DockerRepo.objects.filter(
            pk=repo.pk, status=repo.status, updated_at=repo.updated_at
        ).update(updated_at=timezone.now())
        if moved:
            repo_enqueue_pending(repo=repo)
    return bool(moved)


def repo_recreate_deleted(*, repo: DockerRepo) -> bool:
    """The reconciler found the active repository's ECR repository deleted outside the
    hub: it is created again by its task. False if the row moved on meanwhile."""
    with transaction.atomic():
        moved = move_where(
            DockerRepo.objects.filter(pk=repo.pk, status=Status.ACTIVE),
            Status.PENDING,
            "The ECR repository was deleted outside the hub; recreating it.",
            uri="",
            arn="",
        )
        if not moved:
            return False
        audit(
            actor=None,
            action="docker_repo.drift_recreated",
            target=repo,
            project=repo.project,
            detail={"reason": "deleted in ECR outside the hub"},
        )
        repo.status = Status.PENDING
        repo_enqueue_pending(repo=repo)
    return True


# --- Convergence, run by tasks ----------------------------------------------------------


def _is_ours(repo: DockerRepo, found: ecr.EcrRepository) -> bool:
    tags = ecr.repository_tags(found.arn)
    return (
        tags.get("hub-repo-id") == str(repo.pk)
        and tags.get("hub-project") == repo.project.shortname
    )


def _load(repo_id: int, status: str) -> DockerRepo | None:
    repo = DockerRepo.objects.select_related("project", "service").filter(pk=repo_id).first()
    if repo is None or repo.status != status:
        return None  # done, or someone moved it on: nothing to do
    return repo


def repo_provision(repo_id: int) -> None:
    """Create (or adopt) the ECR repository and make its settings and policies match the
    database. Safe to run twice, or again after a crash between any two AWS calls."""
    repo = _load(repo_id, Status.PENDING)
    if repo is None:
        return
    found, created = _create_or_adopt(repo)
    _sync_settings_and_policies(repo, found, created=created)
    _record_active(repo, found)


def _create_or_adopt(repo: DockerRepo) -> tuple[ecr.EcrRepository, bool]:
    """The repository's ECR repository and whether it was created just now: one found
    already must carry the hub's tags for this row (AwsPermanentError if not)."""
    name = repo.full_name
    found = ecr.describe_repository(name)
    if found is not None:
        if not _is_ours(repo, found):
            raise _name_taken(name)
        return found, False
    try:
        created = ecr.create_repository(
            name,
            tags=selectors.hub_tags(repo),
            tag_mutability=repo.tag_mutability,
            scan_on_push=repo.scan_on_push,
        )
    except ecr.RepositoryNameTaken:
        # Created by a run that crashed before recording it (or by someone else).
        found = ecr.describe_repository(name)
        if found is None:
            raise AwsTransientError(f"ECR reported {name} both taken and missing") from None
        if not _is_ours(repo, found):
            raise _name_taken(name) from None
        return found, False
    return created, True


def _sync_settings_and_policies(
    repo: DockerRepo, found: ecr.EcrRepository, *, created: bool
) -> None:
    # A repository created just now has its settings and no policies yet: only what is
    # wanted is written. One found already (adopted, or a re-run) is synced in full.
    name = repo.full_name
    if (found.tag_mutability, found.scan_on_push) != (repo.tag_mutability, repo.scan_on_push):
        ecr.put_settings(name, tag_mutability=repo.tag_mutability, scan_on_push=repo.scan_on_push)
    lifecycle = render_lifecycle_policy(keep_last_images=repo.keep_last_images)
    if lifecycle is not None or not created:
        ecr.put_lifecycle_policy(name, lifecycle)
    policy = repository_policy(repo)
    if policy is not None or not created:
        ecr.set_repository_policy(name, policy)


def _record_active(repo: DockerRepo, found: ecr.EcrRepository) -> None:
    with transaction.atomic():
        moved = move_where(
            DockerRepo.objects.filter(pk=repo.pk, status=Status.PENDING),
            Status.ACTIVE,
            uri=found.uri,
            arn=found.arn,
        )
        if moved:
            audit(
                actor=None,
                action="docker_repo.active",
                target=repo,
                project=repo.project,
                detail={"uri": found.uri},
            )
            # Recreated after a drift: access entries waiting for it move on now.
            access_enqueue_pending(repo=repo)


def _name_taken(name: str) -> AwsPermanentError:
    return AwsPermanentError(
        f"The name {name} is already taken in ECR by a repository the hub does not manage. "
        "Choose another name, or ask an operator to remove the other repository.",
        code="NameTaken",
    )


def repository_policy(repo: DockerRepo) -> dict | None:
    try:
        return selectors.repo_policy_plan(repo).document()
    except PolicyTooLarge as exc:
        raise AwsPermanentError(str(exc), code="PolicyTooLarge") from None


def repo_destroy(repo_id: int) -> None:
    """Delete the robots' IAM users, the ECR repository with its images, then the row. An
    ECR repository of the same name that the hub does not manage is left alone."""
    repo = _load(repo_id, Status.DELETING)
    if repo is None:
        return
    # The robots' IAM users go first (keys and policies before the user); their rows go
    # with the repository's.
    for iam_username in repo.robots.values_list("iam_username", flat=True):
        iam.delete_user(iam_username)
    found = ecr.describe_repository(repo.full_name)
    if found is not None and _is_ours(repo, found):
        ecr.delete_repository(repo.full_name)
    with transaction.atomic():
        locked = (
            DockerRepo.objects.select_for_update()
            .filter(pk=repo.pk, status=Status.DELETING)
            .first()
        )
        if locked is None:
            return
        audit(
            actor=None,
            action="docker_repo.deleted",
            target=locked,
            project=repo.project,
            detail={"name": repo.full_name},
        )
        locked.delete()


def repo_note_retrying(repo_id: int, detail: str) -> None:
    DockerRepo.objects.filter(pk=repo_id, status__in=[Status.PENDING, Status.DELETING]).update(
        status_detail=detail, updated_at=timezone.now()
    )


def repo_mark_failed(repo_id: int, reason: str, kind: str) -> None:
    """A repository task gave up: failed with the reason (for people) and its kind (for
    the reconciler, which sends FailureKind.GAVE_UP ones again once AWS answers)."""
    with transaction.atomic():
        repo = (
            DockerRepo.objects.select_for_update()
            .select_related("project")
            .filter(pk=repo_id, status__in=[Status.PENDING, Status.DELETING])
            .first()
        )
        if repo is None:
            return
        move(repo, Status.FAILED, reason, failure_kind=kind)
        audit(
            actor=None,
            action="docker_repo.failed",
            target=repo,
            project=repo.project,
            detail={"reason": reason, "while": "deleting" if repo.delete_requested else "creating"},
        )


def repo_images(repo: DockerRepo, *, page_token: str | None = None, page_size: int = 20):
    """One page of the repository's images, read live from ECR; only an active repository
    has images to list (Conflict otherwise, before any AWS call)."""
    if repo.status != Status.ACTIVE:
        raise Conflict(
            f"{repo.full_name} is {repo.get_status_display().lower()}: its "
            "images can be listed once it is active."
        )
    return ecr.list_images(repo.full_name, page_token=page_token, page_size=page_size)
