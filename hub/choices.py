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
    obj.save(update_fields=["status", "status_detail", "status_changed_at", "updated_at",
                            *fields])
