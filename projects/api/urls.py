from django.urls import path

from hub.api import converters  # noqa: F401 - registers <hub_id:...>

from . import views

project = "projects/<slug:shortname>/"

urlpatterns = [
    path("me/", views.MeView.as_view(), name="me"),
    path("projects/", views.ProjectListView.as_view(), name="project-list"),
    path(project, views.ProjectDetailView.as_view(), name="project-detail"),
    path(f"{project}members/", views.MemberListView.as_view(), name="member-list"),
    path(
        f"{project}members/<hub_username:username>/",
        views.MemberDetailView.as_view(),
        name="member-detail",
    ),
    path(f"{project}services/", views.ServiceListView.as_view(), name="service-list"),
    path(
        f"{project}services/<hub_id:service_id>/",
        views.ServiceDetailView.as_view(),
        name="service-detail",
    ),
]
