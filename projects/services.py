"""Every change to projects, memberships and services goes through these functions:
permission check, validation, the change and its audit event in one transaction."""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from hub.audit import audit
from hub.auth import users_with_verified_email
from hub.exceptions import Conflict, InvalidInput, NotAllowed

from .choices import RepoManagement, Role
from .models import Membership, Project, Service
from .permissions import is_hub_admin, project_access

User = get_user_model()


def _require_admin(actor, project: Project) -> None:
    if not project_access(actor, project).is_admin:
        raise NotAllowed("Only project admins can do this.")


def _validate(instance) -> None:
    """Field and model validation. Uniqueness is not checked here: a duplicate is a
    Conflict (409 in the API), raised by the caller."""
    try:
        instance.full_clean(validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        raise InvalidInput.from_django(exc) from None


def find_user(identifier: str):
    """A user by username or email (case-insensitive), or InvalidInput."""
    identifier = (identifier or "").strip()
    if not identifier:
        raise InvalidInput("Give a username or an email address.", fields={"user": ["Required."]})
    if "@" in identifier:
        users = list(users_with_verified_email(identifier)[:2])
    else:
        users = list(User.objects.filter(username__iexact=identifier, is_active=True)[:2])
    if len(users) != 1:
        message = f"No active user '{identifier}' exists in the hub."
        if "@" in identifier and not users:
            message = (
                f"No active user has verified the email address '{identifier}' in the "
                "hub: use their username, or ask them to verify it."
            )
        elif len(users) > 1:
            message = f"More than one user has the email '{identifier}': use the username."
        raise InvalidInput(message, fields={"user": [message]})
    return users[0]


def _find_admin(identifier: str):
    """The first project admin named on create, or None when none is named."""
    if not identifier.strip():
        return None
    try:
        return find_user(identifier)
    except InvalidInput as exc:
        if "user" in exc.fields:
            exc.fields["admin"] = exc.fields.pop("user")
        raise


def _check_role(role: str) -> None:
    if role not in Role.values:
        message = f"Role must be one of: {', '.join(Role.values)}."
        raise InvalidInput(message, fields={"role": [message]})


# --- Projects ---------------------------------------------------------------------------


def project_create(
    *,
    actor,
    shortname: str,
    name: str,
    description: str = "",
    repo_management: str = RepoManagement.MEMBERS,
    admin=None,
) -> Project:
    """A new project; `admin` (a user, or a username or verified email as people type it;
    optional) becomes its first project admin. Errors about `admin` come under that field."""
    if not is_hub_admin(actor):
        raise NotAllowed("Only hub admins can create projects.")
    if isinstance(admin, str):
        admin = _find_admin(admin)
    project = Project(
        shortname=(shortname or "").strip(),
        name=(name or "").strip(),
        description=description or "",
        repo_management=repo_management,
    )
    _validate(project)
    duplicate = Conflict(
        "A project with this shortname already exists.",
        fields={"shortname": ["A project with this shortname already exists."]},
    )
    if Project.objects.filter(shortname=project.shortname).exists():
        raise duplicate
    try:
        with transaction.atomic():
            project.save()
            audit(
                actor=actor,
                action="project.created",
                target=project,
                project=project,
                detail={"name": project.name, "repo_management": project.repo_management},
            )
            if admin is not None:
                membership = Membership.objects.create(project=project, user=admin, role=Role.ADMIN)
                audit(
                    actor=actor,
                    action="membership.added",
                    target=membership,
                    project=project,
                    detail={"user": admin.username, "role": Role.ADMIN},
                )
    except IntegrityError:
        raise duplicate from None  # created by someone else a moment earlier
    return project


def project_update(*, actor, project: Project, **changes) -> Project:
    _require_admin(actor, project)
    allowed = {"name", "description", "repo_management"}
    unknown = set(changes) - allowed
    if unknown:
        raise InvalidInput(f"Cannot change: {', '.join(sorted(unknown))}.")
    changed = {k: v for k, v in changes.items() if v is not None and getattr(project, k) != v}
    if not changed:
        return project
    before = {k: getattr(project, k) for k in changed}
    for key, value in changed.items():
        setattr(project, key, value)
    _validate(project)
    with transaction.atomic():
        project.save(update_fields=[*changed, "updated_at"])
        audit(
            actor=actor,
            action="project.updated",
            target=project,
            project=project,
            detail={k: {"from": before[k], "to": changed[k]} for k in changed},
        )
    return project


# --- Members ----------------------------------------------------------------------------


def _lock_admins(project: Project) -> list[int]:
    """The project's admin user ids, locked so two admins can't both step down at once."""
    return list(
        Membership.objects.select_for_update()
        .filter(project=project, role=Role.ADMIN)
        .values_list("user_id", flat=True)
    )


def membership_add(*, actor, project: Project, user, role: str = Role.MEMBER) -> Membership:
    _require_admin(actor, project)
    _check_role(role)
    if isinstance(user, str):
        user = find_user(user)
    try:
        with transaction.atomic():
            membership = Membership.objects.create(project=project, user=user, role=role)
            audit(
                actor=actor,
                action="membership.added",
                target=membership,
                project=project,
                detail={"user": user.username, "role": role},
            )
    except IntegrityError:
        message = f"{user.username} is already a member of {project.shortname}."
        raise Conflict(message, fields={"user": [message]}) from None
    return membership


def _membership(project: Project, user) -> Membership:
    membership = Membership.objects.select_for_update().filter(project=project, user=user).first()
    if membership is None:
        raise InvalidInput(
            f"{user.username} is not a member of {project.shortname}.",
            fields={"user": ["Not a member of this project."]},
        )
    return membership


def membership_change_role(*, actor, project: Project, user, role: str) -> Membership:
    _require_admin(actor, project)
    _check_role(role)
    with transaction.atomic():
        admins = _lock_admins(project)
        membership = _membership(project, user)
        if membership.role == role:
            return membership
        if membership.role == Role.ADMIN and admins == [user.pk]:
            raise Conflict(
                f"{user.username} is the last project admin of {project.shortname}: "
                "make someone else an admin first."
            )
        before = membership.role
        membership.role = role
        membership.save(update_fields=["role"])
        audit(
            actor=actor,
            action="membership.role_changed",
            target=membership,
            project=project,
            detail={"user": user.username, "from": before, "to": role},
        )
    return membership


def membership_remove(*, actor, project: Project, user) -> None:
    _require_admin(actor, project)
    with transaction.atomic():
        admins = _lock_admins(project)
        membership = _membership(project, user)
        if membership.role == Role.ADMIN and admins == [user.pk]:
            raise Conflict(
                f"{user.username} is the last project admin of {project.shortname}: "
                "make someone else an admin first."
            )
        audit(
            actor=actor,
            action="membership.removed",
            target=membership,
            project=project,
            detail={"user": user.username, "role": membership.role},
        )
        # Apps above react to the deletion (projects.signals), e.g. the person's
        # repository access is withdrawn.
        membership.removed_by = actor
        membership.delete()


# --- Services ---------------------------------------------------------------------------


def _save_service(service: Service) -> None:
    _validate(service)
    message = "This project already has a service with this name."
    duplicate = Conflict(message, fields={"name": [message]})
    if (
        Service.objects.filter(project=service.project_id, name__iexact=service.name)
        .exclude(pk=service.pk)
        .exists()
    ):
        raise duplicate
    try:
        with transaction.atomic():
            service.save()
    except IntegrityError:
        raise duplicate from None


def service_create(*, actor, project: Project, name: str, description: str = "") -> Service:
    _require_admin(actor, project)
    service = Service(project=project, name=(name or "").strip(), description=description or "")
    with transaction.atomic():
        _save_service(service)
        audit(
            actor=actor,
            action="service.created",
            target=service,
            project=project,
            detail={"name": service.name},
        )
    return service


def service_update(
    *, actor, service: Service, name: str | None = None, description: str | None = None
) -> Service:
    project = service.project
    _require_admin(actor, project)
    before = {"name": service.name, "description": service.description}
    if name is not None:
        service.name = name.strip()
    if description is not None:
        service.description = description
    after = {"name": service.name, "description": service.description}
    changed = {k: {"from": before[k], "to": after[k]} for k in before if before[k] != after[k]}
    if not changed:
        return service
    with transaction.atomic():
        _save_service(service)
        audit(
            actor=actor, action="service.updated", target=service, project=project, detail=changed
        )
    return service


def service_delete(*, actor, service: Service) -> None:
    project = service.project
    _require_admin(actor, project)
    try:
        with transaction.atomic():
            audit(
                actor=actor,
                action="service.deleted",
                target=service,
                project=project,
                detail={"name": service.name},
            )
            service.delete()
    except ProtectedError as exc:
        count = len(exc.protected_objects)
        raise Conflict(
            f"Service '{service.name}' still has {count} Docker "
            f"repositor{'y' if count == 1 else 'ies'}. Delete them first, so no ECR "
            "repository is left behind."
        ) from None
