from django.urls import path

from hub.api import converters  # noqa: F401 - registers <hub_id:...>

from . import views

repo = "docker-repos/<hub_id:repo_id>/"

urlpatterns = [
    path(
        "projects/<slug:shortname>/docker-repos/",
        views.ProjectReposView.as_view(),
        name="repo-list",
    ),
    path(repo, views.RepoDetailView.as_view(), name="repo-detail"),
    path(f"{repo}retry/", views.RepoRetryView.as_view(), name="repo-retry"),
    path(f"{repo}images/", views.RepoImagesView.as_view(), name="repo-images"),
    path(f"{repo}access/", views.RepoAccessView.as_view(), name="repo-access"),
    path(
        f"{repo}robots/<hub_id:robot_id>/credentials/",
        views.RobotCredentialsView.as_view(),
        name="robot-credentials",
    ),
    path(
        f"{repo}robots/<hub_id:robot_id>/rotate/",
        views.RobotRotateView.as_view(),
        name="robot-rotate",
    ),
]
