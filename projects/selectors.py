from django.db.models import OuterRef, QuerySet, Subquery

from .models import Membership, Project, Service
from .permissions import is_hub_admin


def projects_for_user(user) -> QuerySet[Project]:
    """The projects `user` belongs to (all of them for hub admins), each with `my_role`."""
    my_role = Membership.objects.filter(project=OuterRef("pk"), user=user).values("role")[:1]
    projects = Project.objects.annotate(my_role=Subquery(my_role))
    if is_hub_admin(user):
        return projects
    return projects.filter(memberships__user=user)


def project_members(project: Project) -> QuerySet[Membership]:
    return project.memberships.select_related("user").order_by("user__username")


def project_services(project: Project) -> QuerySet[Service]:
    return project.services.order_by("name")
