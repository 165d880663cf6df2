from django.db.models import Count, OuterRef, QuerySet, Subquery

from .models import Membership, Project, Service
from .permissions import ProjectAccess, is_hub_admin, project_access


def _with_my_role(projects: QuerySet[Project], user) -> QuerySet[Project]:
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


def project_services_with_repo_counts(project: Project) -> QuerySet[Service]:
    """With `repo_count`: a service that still has repositories cannot be deleted (its
    repositories are PROTECTed), so the SERVICES tab disables Delete and says why."""
    return project_services(project).annotate(repo_count=Count("docker_repos"))
