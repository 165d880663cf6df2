"""Who may do what in a project: the one place views, the API and services ask."""

from dataclasses import dataclass
from types import EllipsisType

from .choices import RepoManagement, Role
from .models import Membership, Project

# What a person who is not a repo manager is told, by every page, endpoint and service.
REPO_MANAGERS_ONLY = "Only repo managers of this project can do this."


@dataclass(frozen=True)
class ProjectAccess:
    project: Project
    role: str | None  # the membership role, None when not a member
    is_hub_admin: bool

    @property
    def can_view(self) -> bool:
        return self.is_hub_admin or self.role is not None

    @property
    def is_admin(self) -> bool:
        """Project admins and hub admins manage members, services and settings."""
        return self.is_hub_admin or self.role == Role.ADMIN

    @property
    def is_repo_manager(self) -> bool:
        """Repo managers request, delete and retry repositories and manage their access.

        Project admins and hub admins always are; plain members are while the project's
        `repo_management` is `members` (the default, as the user guide describes)."""
        if self.is_admin:
            return True
        return self.role == Role.MEMBER and self.project.repo_management == RepoManagement.MEMBERS


def is_hub_admin(user) -> bool:
    return bool(user.is_authenticated and user.is_active and user.is_staff)


def project_access(
    user, project: Project, *, role: str | None | EllipsisType = ...
) -> ProjectAccess:
    """What `user` may do in `project`. Pass `role` when it is already known (e.g. from an
    annotated queryset) to save the query."""
    if not (user.is_authenticated and user.is_active):
        return ProjectAccess(project=project, role=None, is_hub_admin=False)
    if role is ...:
        role = (
            Membership.objects.filter(project=project, user=user)
            .values_list("role", flat=True)
            .first()
        )
    return ProjectAccess(project=project, role=role, is_hub_admin=is_hub_admin(user))
