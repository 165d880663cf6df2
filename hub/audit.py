from django.db import models

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
    in `detail`."""
    event = _event(actor=actor, action=action, target=target, project=project, detail=detail)
    event.save(force_insert=True)
    return event


def audit_many(entries: list[dict]) -> list[AuditEvent]:
    """Record several events in one query; each entry holds audit()'s keyword arguments.
    The same rules as audit()."""
    return AuditEvent.objects.bulk_create([_event(**entry) for entry in entries])


def _event(*, actor, action: str, target: models.Model | None = None, project=None,
           detail: dict | None = None) -> AuditEvent:
    actor_obj = actor if getattr(actor, "is_authenticated", False) else None
    return AuditEvent(
        actor=actor_obj,
        actor_username=actor_obj.get_username() if actor_obj else "",
        action=action,
        target_type=(target._meta.model_name or "") if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_repr=str(target)[:300] if target is not None else "",
        project=project,
        project_shortname=getattr(project, "shortname", "") or "",
        detail=detail or {},
    )
