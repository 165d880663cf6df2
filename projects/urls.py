from django.urls import path
from django.views.generic import RedirectView

from hub.api import converters  # noqa: F401 - registers <hub_username:...>

from . import views

app_name = "projects"

urlpatterns = [
    path("", views.ProjectListView.as_view(), name="list"),
    path("new/", views.ProjectCreateView.as_view(), name="create"),
    # The addresses the user guide prints.
    path("list", RedirectView.as_view(pattern_name="projects:list", permanent=True)),
    path(
        "detail/<slug:shortname>",
        RedirectView.as_view(pattern_name="projects:detail", permanent=True),
    ),
    path("<slug:shortname>/", views.ProjectDetailView.as_view(), name="detail"),
    path("<slug:shortname>/settings/", views.ProjectSettingsView.as_view(), name="settings"),
    path("<slug:shortname>/members/add/", views.MemberAddView.as_view(), name="member-add"),
    # <hub_username>: the characters of a username only (a NUL byte in the path was a
    # server error on PostgreSQL, which refuses it in a query).
    path(
        "<slug:shortname>/members/<hub_username:username>/role/",
        views.MemberRoleView.as_view(),
        name="member-role",
    ),
    path(
        "<slug:shortname>/members/<hub_username:username>/remove/",
        views.MemberRemoveView.as_view(),
        name="member-remove",
    ),
    path("<slug:shortname>/services/", views.ServiceListView.as_view(), name="services"),
    path(
        "<slug:shortname>/services/<int:service_id>/edit/",
        views.ServiceEditView.as_view(),
        name="service-edit",
    ),
    path(
        "<slug:shortname>/services/<int:service_id>/delete/",
        views.ServiceDeleteView.as_view(),
        name="service-delete",
    ),
    path("<slug:shortname>/activity/", views.ProjectActivityView.as_view(), name="activity"),
]
