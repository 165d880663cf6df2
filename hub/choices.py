"""The one status vocabulary, with the label and colour every screen uses."""

from django.db import models
from django.utils import timezone


class Status(models.TextChoices):
    PENDING = "pending", "Pending"
    ACTIVE = "active", "Active"
    DELETING = "deleting", "Deleting"
    REMOVING = "removing", "Removing"
    FAILED = "failed", "Failed"


STATUS_COLOURS: dict[str, str] = {
    Status.PENDING: "blue",
    Status.ACTIVE: "green",
    Status.DELETING: "orange",
    Status.REMOVING: "orange",
    Status.FAILED: "red",
}

# States a background task is still working on: pages poll while any is shown.
IN_FLIGHT = frozenset({Status.PENDING, Status.DELETING, Status.REMOVING})


def status_colour(value: str) -> str:
    return STATUS_COLOURS.get(value, "grey")


def move(obj, status: str, detail: str = "", **fields) -> None:
    """Save `obj` (a row with the hub's status fields) in `status` with `detail`, plus any
    other `fields`, writing only those columns. Call it on a row locked for update."""
    obj.status = status
    obj.status_detail = detail
    obj.status_changed_at = timezone.now()
    for key, value in fields.items():
        setattr(obj, key, value)
    obj.save(update_fields=["status", "status_detail", "status_changed_at", "updated_at", *fields])


def move_where(rows, status: str, detail: str = "", **fields) -> int:
    """Compare-and-set: move the rows of queryset `rows` (filtered on the state they must
    still be in) to `status` with `detail`, plus any other `fields`, in one UPDATE. Returns
    how many moved: 0 means someone else moved them first, and the caller does nothing."""
    now = timezone.now()
    return rows.update(
        status=status, status_detail=detail, status_changed_at=now, updated_at=now, **fields
    )


class FailureKind(models.TextChoices):
    """Why a converging task gave up, for code to select on (the status detail says it to
    people, in words that may change)."""

    NONE = "", "Not failed"
    AWS_ERROR = "aws_error", "AWS refused the change"
    GAVE_UP = "gave_up", "AWS unreachable or busy through every retry"
    DATABASE = "database", "The hub's database failed"
    BUG = "bug", "Unexpected error in the hub"
