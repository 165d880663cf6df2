"""Transitions every app's credentials rows share (a person's ECR identity, a robot: both
an IAM user with one access key the hub holds): asking for a new key, noting a retry, and
recording that a task gave up. Each app passes its own rows and names; this module knows
no app."""

from django.db import transaction
from django.utils import timezone

from .audit import audit
from .choices import Status, move, move_where
from .exceptions import Conflict
from .tasks import enqueue_on_commit

# The states a credentials task works on: creating (or rotating) and removing.
CREDENTIALS_IN_FLIGHT = (Status.PENDING, Status.REMOVING)

ROTATING_DETAIL = "Creating a new access key; the current one works until it is replaced."


def credentials_rotate(
    locked, *, actor, action_prefix: str, project=None, task_name: str, not_active: str
) -> None:
    """Ask for a new access key on `locked` (a row locked for update): the task creates
    and stores the new key before deleting the old one. `not_active` is the Conflict
    message for a row that is not active, with `{status}` in it."""
    if locked.status != Status.ACTIVE:
        raise Conflict(not_active.format(status=locked.get_status_display().lower()))
    move(locked, Status.PENDING, ROTATING_DETAIL, rotation_requested=True)
    audit(
        actor=actor,
        action=f"{action_prefix}.rotation_requested",
        target=locked,
        project=project,
        detail={"access_key_id": locked.access_key_id},
    )
    enqueue_on_commit(task_name, locked.pk)


def credentials_note_retrying(rows, detail: str) -> None:
    """A credentials task retries: the row (queryset `rows`, one row) says so while it is
    still in flight."""
    rows.filter(status__in=CREDENTIALS_IN_FLIGHT).update(
        status_detail=detail, updated_at=timezone.now()
    )


def credentials_mark_failed(
    rows, reason: str, *, action_prefix: str, removing: str, project_of=lambda row: None
):
    """A credentials task gave up on the row of queryset `rows`. A failed rotation leaves
    the current key working, so the row goes back to active (with the reason); anything
    else is failed. Returns (row, what it was doing: "rotating", "creating" or `removing`),
    or None when the row is no longer in flight. Call inside the caller's transaction to
    act on the outcome atomically."""
    with transaction.atomic():
        row = rows.select_for_update(of=("self",)).filter(status__in=CREDENTIALS_IN_FLIGHT).first()
        if row is None:
            return None
        project = project_of(row)
        if row.status == Status.PENDING and row.rotation_requested and row.has_key:
            move(
                row,
                Status.ACTIVE,
                f"Rotating the access key failed: {reason} The current "
                "key still works; press Rotate to try again.",
                rotation_requested=False,
            )
            audit(
                actor=None,
                action=f"{action_prefix}.rotation_failed",
                target=row,
                project=project,
                detail={"reason": reason},
            )
            return row, "rotating"
        doing = removing if row.status == Status.REMOVING else "creating"
        move(row, Status.FAILED, reason)
        audit(
            actor=None,
            action=f"{action_prefix}.failed",
            target=row,
            project=project,
            detail={"reason": reason, "while": doing},
        )
        return row, doing


def credentials_recreate(
    row, missing: str, *, action_prefix: str, project=None, task_name: str
) -> bool:
    """The reconciler found the row's IAM user or access key (`missing`) deleted outside
    the hub: the row's task makes both again, with a new key (the credential counts as
    rotated). False if the row is no longer active (someone moved it on)."""
    with transaction.atomic():
        moved = move_where(
            type(row).objects.filter(pk=row.pk, status=Status.ACTIVE),
            Status.PENDING,
            f"The {missing} was deleted outside the hub; recreating it with a new access key.",
            rotation_requested=True,
        )
        if not moved:
            return False
        audit(
            actor=None,
            action=f"{action_prefix}.drift_recreated",
            target=row,
            project=project,
            detail={
                "missing": missing,
                "iam_username": row.iam_username,
                "old_access_key_id": row.access_key_id,
            },
        )
        enqueue_on_commit(task_name, row.pk)
    return True
