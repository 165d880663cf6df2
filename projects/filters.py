"""How the project list is filtered (`GET /api/v1/projects/?name=&q=`)."""

import django_filters
from django.db.models import Q, QuerySet

from hub.limits import DESCRIPTION_MAX

from .models import Project

NAME_MAX = Project._meta.get_field("name").max_length


class ProjectFilter(django_filters.FilterSet):
    name = django_filters.CharFilter(
        lookup_expr="icontains",
        max_length=NAME_MAX,
        help_text="Projects whose name contains this (any case).",
    )
    q = django_filters.CharFilter(
        method="search",
        max_length=DESCRIPTION_MAX,
        help_text="Projects whose shortname, name or description contains this (any case).",
    )

    class Meta:
        model = Project
        fields = ["name", "q"]

    def search(self, queryset: QuerySet[Project], name: str, value: str):
        return queryset.filter(
            Q(shortname__icontains=value)
            | Q(name__icontains=value)
            | Q(description__icontains=value)
        )
