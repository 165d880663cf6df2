"""Robot accounts: a repository's CI robots, each its own IAM user with one access key.
People reveal, rotate and retry them here; the robot tasks converge their IAM users."""

from django.db import transaction

from hub.audit import audit
from hub.choices import Status, move, move_where
from hub.exceptions import Conflict
from hub.models import AuditEvent
from hub.tasks import enqueue_on_commit
from hub.transitions import (
    credentials_mark_failed,
    credentials_note_retrying,
    credentials_recreate,
    credentials_rotate,
)
from identities import services as identity_services
from identities.credentials import converge_credentials, converging_alone, secret_of

from .access import lock_active_repo
from .models import RobotAccount
from .permissions import require_repo_manager

# --- Requests from people -----------------------------------------------------------------


def robot_reveal_credentials(*, actor, robot: RobotAccount) -> tuple[str, str]:
    """The robot's access key id and secret, for repo managers; audited."""
    robot = RobotAccount.objects.select_related("repo__project").get(pk=robot.pk)
    require_repo_manager(actor, robot.repo.project)
    if robot.status != Status.ACTIVE or not robot.has_key:
        raise Conflict(
            f"Robot account {robot.name} is {robot.get_status_display().lower()}: "
            "its credentials are shown once it is active."
        )
    with transaction.atomic():
        audit(
            actor=actor,
            action="robot.credentials_revealed",
            target=robot,
            project=robot.repo.project,
            detail={"access_key_id": robot.access_key_id},
        )
    return robot.access_key_id, secret_of(robot)


def robot_rotate(*, actor, robot: RobotAccount) -> RobotAccount:
    """Replace the robot's access key: the new one is created and stored before the old
    one is deleted."""
    with transaction.atomic():
        locked = (
            RobotAccount.objects.select_for_update(of=("self",))
            .select_related("repo__project")
            .get(pk=robot.pk)
        )
        require_repo_manager(actor, locked.repo.project)
        credentials_rotate(
            locked,
            actor=actor,
            action_prefix="robot",
            project=locked.repo.project,
            task_name="docker_repos.tasks.provision_robot",
            not_active=f"Only an active robot account can be rotated; {locked.name} is {{status}}.",
        )
    return locked


def robot_retry(*, actor, robot: RobotAccount) -> RobotAccount:
    require_repo_manager(actor, robot.repo.project)
    with transaction.atomic():
        lock_active_repo(robot.repo)
        locked = (
            RobotAccount.objects.select_for_update(of=("self",))
            .select_related("repo__project")
            .get(pk=robot.pk)
        )
        if locked.status != Status.FAILED:
            raise Conflict(
                f"Only a failed robot account can be retried; {locked.name} is "
                f"{locked.get_status_display().lower()}."
            )
        if locked.removal_requested:
            move(locked, Status.REMOVING)
            enqueue_on_commit("docker_repos.tasks.sync_repo_access", locked.repo_id)
        else:
            move(locked, Status.PENDING)
            enqueue_on_commit("docker_repos.tasks.provision_robot", locked.pk)
        audit(
            actor=actor,
            action="robot.retried",
            target=locked,
            project=locked.repo.project,
            detail={"status": locked.status},
        )
    return locked


def robot_recreate_credentials(robot: RobotAccount, missing: str) -> bool:
    """The reconciler found the robot's IAM user or access key deleted outside the hub:
    both come back through its task, with a new key. False if the robot moved on."""
    return credentials_recreate(
        robot,
        missing,
        action_prefix="robot",
        project=robot.repo.project,
        task_name="docker_repos.tasks.provision_robot",
    )


# --- Convergence, run by tasks ------------------------------------------------------------


def robot_tags(robot: RobotAccount) -> dict[str, str]:
    return {
        "hub-kind": "robot",
        "hub-project": robot.repo.project.shortname,
        "hub-repo-id": str(robot.repo_id),
        "hub-robot": robot.name,
    }


def robot_provision(robot_id: int) -> None:
    """Create the robot's IAM user, login policy and access key (or rotate the key). A new
    robot then waits for the policy sync to name it; a rotated one is active again (and
    its repository's policy is written again if its IAM user had to be recreated: the
    new user has a new unique id, which the old policy does not grant)."""
    with converging_alone(RobotAccount, robot_id):
        _provision_robot(robot_id)


def _provision_robot(robot_id: int) -> None:
    robot = (
        RobotAccount.objects.select_related("repo__project")
        .filter(pk=robot_id, status=Status.PENDING)
        .first()
    )
    if robot is None or robot.repo.delete_requested:
        return
    rotating, old_key = robot.rotation_requested, robot.access_key_id
    converged = converge_credentials(robot, tags=robot_tags(robot))
    if not converged.done:
        _robot_moved_on(robot)
        return
    if not rotating:
        enqueue_on_commit("docker_repos.tasks.sync_repo_access", robot.repo_id)
        return
    reason = rotation_reason(robot, old_key)  # the page keeps saying why the hub rotated it
    with transaction.atomic():
        moved = move_where(
            RobotAccount.objects.filter(pk=robot.pk, status=Status.PENDING),
            Status.ACTIVE,
            f"Key rotated because {reason}." if reason else "",
            rotation_requested=False,
        )
        if moved:
            audit(
                actor=None,
                action="robot.rotated",
                target=robot,
                project=robot.repo.project,
                detail={
                    "access_key_id": robot.access_key_id,
                    **({"reason": reason} if reason else {}),
                },
            )
        if converged.user_created:
            enqueue_on_commit("docker_repos.tasks.sync_repo_access", robot.repo_id)


def rotation_reason(robot: RobotAccount, old_key: str) -> str:
    """Why the hub rotated `old_key` of the robot on its own (offboarding), or "" for a
    rotation a person asked for."""
    detail = (
        AuditEvent.objects.filter(
            action="robot.rotation_requested",
            target_type=RobotAccount._meta.model_name,
            target_id=str(robot.pk),
        )
        .order_by("-pk")
        .values_list("detail", flat=True)
        .first()
    ) or {}
    return detail.get("reason", "") if detail.get("access_key_id") == old_key else ""


def _robot_moved_on(robot: RobotAccount) -> None:
    """The robot was removed (or its repository deleted) while its IAM user was being
    made: make sure the IAM user does not outlive it."""
    current = RobotAccount.objects.filter(pk=robot.pk).first()
    if current is None:
        identity_services.iam_user_delete_on_commit(robot.iam_username)
    elif current.status == Status.REMOVING:
        enqueue_on_commit("docker_repos.tasks.sync_repo_access", robot.repo_id)


def robot_destroy(robot_id: int) -> None:
    """Delete the robot's IAM user (keys and policies first), then the row. Enqueued by
    the sync once AWS accepted a policy without the robot."""
    with converging_alone(RobotAccount, robot_id):
        _destroy_robot(robot_id)


def _destroy_robot(robot_id: int) -> None:
    robot = (
        RobotAccount.objects.select_related("repo__project")
        .filter(pk=robot_id, status=Status.REMOVING)
        .first()
    )
    if robot is None:
        return
    identity_services.iam_user_delete(robot.iam_username)
    with transaction.atomic():
        locked = (
            RobotAccount.objects.select_for_update()
            .filter(pk=robot.pk, status=Status.REMOVING)
            .first()
        )
        if locked is None:
            return
        audit(
            actor=None,
            action="robot.removed",
            target=locked,
            project=robot.repo.project,
            detail={"iam_username": locked.iam_username},
        )
        locked.delete()


def robot_note_retrying(robot_id: int, detail: str) -> None:
    credentials_note_retrying(RobotAccount.objects.filter(pk=robot_id), detail)


def robot_mark_failed(robot_id: int, reason: str, kind: str = "") -> None:
    """A robot task gave up (a failed rotation leaves the current key working: see
    hub.transitions). Only repositories are re-sent on their own: `kind` is not stored."""
    credentials_mark_failed(
        RobotAccount.objects.filter(pk=robot_id).select_related("repo__project"),
        reason,
        action_prefix="robot",
        removing="removing",
        project_of=lambda robot: robot.repo.project,
    )
