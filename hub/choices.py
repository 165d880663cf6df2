"""The one status vocabulary, with the label and colour every screen uses."""

from django.db import models


class Status(models.TextChoices):
    PENDING = "pending", "Pending"
    ACTIVE = "active", "Active"
    DELETING = "deleting", "Deleting"
    REMOVING = "removing", "Removing"
    FAILED = "failed", "Failed"


STATUS_COLOURS = {
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
