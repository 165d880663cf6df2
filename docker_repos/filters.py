"""The one way a project's repositories are filtered: the API list
(`GET /api/v1/projects/{shortname}/docker-repos/?status=&service=&name=&q=`) and the
ALL DOCKER REPOS page's search both use RepoFilter, so they find the same rows."""

import django_filters
from django.db.models import Q, QuerySet

from hub.choices import Status
from hub.limits import DESCRIPTION_MAX
from projects.models import Service

from .models import ECR_NAME_MAX, DockerRepo

# The states a repository can be in (REMOVING is for access entries and robots).
REPO_STATUSES = [
    (s.value, s.label) for s in (Status.PENDING, Status.ACTIVE, Status.DELETING, Status.FAILED)
]


class RepoFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(
        choices=REPO_STATUSES, help_text="Only repositories in this state."
    )
    service = django_filters.CharFilter(
        field_name="service__name",
        max_length=Service._meta.get_field("name").max_length,
        help_text="Only the repositories of the service of this name.",
    )
    name = django_filters.CharFilter(
        lookup_expr="icontains",
        max_length=ECR_NAME_MAX,
        help_text="Repositories whose name contains this (any case).",
    )
    q = django_filters.CharFilter(
        method="search",
        max_length=DESCRIPTION_MAX,
        label="Search",
        help_text="Repositories whose name or description contains this (any case).",
    )

    class Meta:
        model = DockerRepo
        fields = ["status", "service", "name", "q"]

    def search(self, queryset: QuerySet[DockerRepo], name: str, value: str):
        return queryset.filter(Q(name__icontains=value) | Q(description__icontains=value))
