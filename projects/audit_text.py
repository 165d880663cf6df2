"""How the projects app's audit events read (hub.audit_text)."""

from hub.audit_text import Said, object_words, renders

from .choices import RepoManagement, Role

object_words("project", "The project")
object_words("membership", "Members")
object_words("service", "Services")

_FIELDS = {"name": "name", "description": "description", "repo_management": "repository management"}


def _role(value) -> str:
    return Role(value).label.lower() if value in Role.values else str(value or "member")


def _value(field: str, value) -> str:
    if field == "repo_management" and value in RepoManagement.values:
        return "project admins only" if value == RepoManagement.ADMINS else "every member"
    return f"“{value}”" if value else "nothing"


def _changes(said: Said) -> str:
    """{"name": {"from": "a", "to": "b"}} → 'name from “a” to “b”'; the admin records only
    which fields changed."""
    if "changed" in said.detail:
        return "changed " + ", ".join(str(f) for f in said.detail["changed"]) or "saved"
    parts = [
        f"{_FIELDS.get(k, k)} from {_value(k, v.get('from'))} to {_value(k, v.get('to'))}"
        for k, v in said.detail.items()
        if isinstance(v, dict)
    ]
    return ", ".join(parts) or "saved"


def _member(said: Said) -> str:
    return said.detail.get("user") or said.target.split(" in ", 1)[0]


@renders("project.created", kind="requested")
def _project_created(said: Said) -> str:
    return f"{said.actor} created the project {said.target}{said.via_admin}"


@renders("project.updated", kind="changed")
def _project_updated(said: Said) -> str:
    return f"{said.actor} changed the project{said.via_admin}: {_changes(said)}"


@renders("project.deleted", kind="removed")
def _project_deleted(said: Said) -> str:
    return f"{said.actor} deleted the project {said.detail.get('shortname') or said.target}"


@renders("membership.added", kind="requested")
def _member_added(said: Said) -> str:
    role = f" as {_role(said.detail['role'])}" if said.detail.get("role") else ""
    return f"{said.actor} added {_member(said)} to the project{role}{said.via_admin}"


@renders("membership.role_changed", kind="changed")
def _role_changed(said: Said) -> str:
    if "to" not in said.detail:
        return f"{said.actor} changed the role of {_member(said)}{said.via_admin}"
    return (
        f"{said.actor} made {_member(said)} {_role(said.detail['to'])} "
        f"(was {_role(said.detail.get('from'))})"
    )


@renders("membership.removed", kind="removed")
def _member_removed(said: Said) -> str:
    return f"{said.actor} removed {_member(said)} from the project{said.via_admin}"


@renders("service.created", kind="requested")
def _service_created(said: Said) -> str:
    return (
        f"{said.actor} created the service {said.detail.get('name') or said.target}{said.via_admin}"
    )


@renders("service.updated", kind="changed")
def _service_updated(said: Said) -> str:
    return f"{said.actor} changed the service {said.target}{said.via_admin}: {_changes(said)}"


@renders("service.deleted", kind="removed")
def _service_deleted(said: Said) -> str:
    return (
        f"{said.actor} deleted the service {said.detail.get('name') or said.target}{said.via_admin}"
    )
