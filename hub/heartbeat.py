"""Heartbeats of the background processes (hub.models.Heartbeat): written by beat's
scheduler loop and by each reconciler pass, read by /readyz, /metrics and `hub_probe`."""

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.utils import timezone

from .models import Heartbeat

BEAT = "beat"
RECONCILE = "reconcile"  # the last pass that ran to its end, with its figures


def record(name: str, *, detail: dict | None = None, at: datetime | None = None) -> None:
    """Overwrite the heartbeat `name`: one upsert, whether or not the row exists."""
    Heartbeat.objects.bulk_create(
        [Heartbeat(name=name, at=at or timezone.now(), detail=detail or {})],
        update_conflicts=True,
        unique_fields=["name"],
        update_fields=["at", "detail"],
    )


def read_all() -> dict[str, Heartbeat]:
    """Every heartbeat, by name, in one query."""
    return {row.name: row for row in Heartbeat.objects.all()}


@dataclass(frozen=True)
class BeatState:
    age_seconds: float | None  # None: beat never recorded one
    stale: bool


def beat_state(rows: dict[str, Heartbeat] | None = None) -> BeatState:
    rows = read_all() if rows is None else rows
    row = rows.get(BEAT)
    if row is None:
        return BeatState(age_seconds=None, stale=True)
    age = max(0.0, (timezone.now() - row.at).total_seconds())
    return BeatState(age_seconds=round(age, 1), stale=age > settings.HUB_BEAT_STALE_AFTER)
