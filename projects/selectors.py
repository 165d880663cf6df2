from typing import TYPE_CHECKING, TypedDict

from django.db.models import Count, OuterRef, QuerySet, Subquery

from hub import audit_text
from hub.audit import events_in_project
from hub.models import AuditEvent

from .models import Membership, Project, Service
from .permissions import ProjectAccess, is_hub_admin, project_access

if TYPE_CHECKING:  # django-stubs' helper, a dev dependency
    from django_stubs_ext import WithAnnotations


class MyRole(TypedDict):
    my_role: str | None  # the user's Role in the project; None when not a member


def _with_my_role(
    projects: QuerySet[Project], user
) -> "QuerySet[WithAnnotations[Project, MyRole]]":
    my_role = Membership.objects.filter(project=OuterRef("pk"), user=user).values("role")[:1]
    return projects.annotate(my_role=Subquery(my_role))


def projects_for_user(user) -> QuerySet[Project]:
    """The projects `user` belongs to (all of them for hub admins), each with `my_role`."""
    projects = _with_my_role(Project.objects.all(), user)
    if is_hub_admin(user):
        return projects
    return projects.filter(memberships__user=user)


def project_and_access(shortname: str, user) -> tuple[Project | None, ProjectAccess | None]:
    """The project and what `user` may do in it, in one query; (None, None) if unknown."""
    if not (user.is_authenticated and user.is_active):
        project = Project.objects.filter(shortname=shortname).first()
        return project, project_access(user, project) if project else None
    project = _with_my_role(Project.objects.filter(shortname=shortname), user).first()
    if project is None:
        return None, None
    return project, project_access(user, project, role=project.my_role)


def project_members(project: Project) -> QuerySet[Membership]:
    return project.memberships.select_related("user").order_by("user__username")


def project_services(project: Project) -> QuerySet[Service]:
    return project.services.order_by("name")


# The Activity filter's "person" for the hub's own work (no username has parentheses).
THE_HUB = "(hub)"


def activity_filter_choices(project: Project) -> dict[str, list[tuple[str, str]]]:
    """What the Activity filter offers, in words: the people who did something in the
    project (and the hub itself), the kinds of object and the kinds of change."""
    people = sorted(
        set(events_in_project(project).values_list("actor_username", flat=True).order_by())
    )
    return {
        "person": [
            (THE_HUB if name == "" else name, "The hub itself" if name == "" else name)
            for name in people
        ],
        "object": sorted(audit_text.OBJECTS.items(), key=lambda item: item[1]),
        "kind": list(audit_text.KINDS.items()),
    }


def project_activity(
    project: Project, *, person: str = "", object_type: str = "", kind: str = ""
) -> QuerySet[AuditEvent]:
    """The project's audit events, newest first, narrowed to one person (THE_HUB: the
    hub's own work), one kind of object (AuditEvent.target_type) and one kind of change
    (hub.audit_text.KINDS); an empty value does not narrow."""
    events = events_in_project(project)
    if person:
        events = events.filter(actor_username="" if person == THE_HUB else person)
    if object_type:
        events = events.filter(target_type=object_type)
    if kind:
        events = events.filter(action__in=audit_text.actions_of_kind(kind))
    return events


def project_services_with_repo_counts(project: Project) -> QuerySet[Service]:
    """With `repo_count`: a service that still has repositories cannot be deleted (its
    repositories are PROTECTed), so the SERVICES tab disables Delete and says why."""
    return project_services(project).annotate(repo_count=Count("docker_repos"))
