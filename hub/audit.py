from django.db import models
from django.db.models import QuerySet

from .models import AuditEvent


def audit(
    *,
    actor,
    action: str,
    target: models.Model | None = None,
    project=None,
    detail: dict | None = None,
) -> AuditEvent:
    """Record one audit event. Call it inside the transaction that makes the change,
    so the event and the change commit (or roll back) together. Never put a secret
    in `detail`. `project` is the project the change belongs to (any object with `pk`
    and `shortname`): its id and shortname are copied in."""
    event = _event(actor=actor, action=action, target=target, project=project, detail=detail)
    event.save(force_insert=True)
    return event


def audit_many(entries: list[dict]) -> list[AuditEvent]:
    """Record several events in one query; each entry holds audit()'s keyword arguments.
    The same rules as audit()."""
    return AuditEvent.objects.bulk_create([_event(**entry) for entry in entries])


def _event(
    *,
    actor,
    action: str,
    target: models.Model | None = None,
    project=None,
    detail: dict | None = None,
) -> AuditEvent:
    actor_obj = actor if getattr(actor, "is_authenticated", False) else None
    return AuditEvent(
        actor=actor_obj,
        actor_username=actor_obj.get_username() if actor_obj else "",
        action=action,
        target_type=(target._meta.model_name or "") if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_repr=str(target)[:300] if target is not None else "",
        project_id=getattr(project, "pk", None),
        project_shortname=getattr(project, "shortname", "") or "",
        detail=detail or {},
    )


def events_of(target: models.Model) -> QuerySet[AuditEvent]:
    """The events about one object, newest first."""
    return AuditEvent.objects.filter(
        target_type=target._meta.model_name, target_id=str(target.pk)
    ).order_by("-at", "-id")


def events_in_project(project) -> QuerySet[AuditEvent]:
    """The events of one project (any object with `pk`), newest first."""
    return AuditEvent.objects.filter(project_id=project.pk).order_by("-at", "-id")
