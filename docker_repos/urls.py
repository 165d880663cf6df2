from django.urls import path

from . import views

app_name = "docker_repos"

base = "projects/<slug:shortname>/docker-repos/"

urlpatterns = [
    path(base, views.ProjectReposView.as_view(), name="project-repos"),
    path(
        f"{base}fragment/", views.ProjectReposFragmentView.as_view(), name="project-repos-fragment"
    ),
    path(f"{base}new/", views.RepoRequestView.as_view(), name="request"),
    path(f"{base}<int:repo_id>/", views.RepoDetailView.as_view(), name="detail"),
    path(
        f"{base}<int:repo_id>/status/",
        views.RepoStatusFragmentView.as_view(),
        name="status-fragment",
    ),
    path(f"{base}<int:repo_id>/delete/", views.RepoDeleteView.as_view(), name="delete"),
    path(f"{base}<int:repo_id>/retry/", views.RepoRetryView.as_view(), name="retry"),
    # Access: MANAGE ACCESS, the polled list of robots and people, robots' credentials.
    path(f"{base}<int:repo_id>/access/", views.RepoAccessView.as_view(), name="access"),
    path(
        f"{base}<int:repo_id>/access/fragment/",
        views.RepoAccessFragmentView.as_view(),
        name="access-fragment",
    ),
    path(
        f"{base}<int:repo_id>/access/<int:access_id>/retry/",
        views.AccessRetryView.as_view(),
        name="access-retry",
    ),
    path(
        f"{base}<int:repo_id>/robots/<int:robot_id>/", views.RobotDetailView.as_view(), name="robot"
    ),
    path(
        f"{base}<int:repo_id>/robots/<int:robot_id>/reveal/",
        views.RobotRevealView.as_view(),
        name="robot-reveal",
    ),
    path(
        f"{base}<int:repo_id>/robots/<int:robot_id>/secret/",
        views.RobotSecretView.as_view(),
        name="robot-secret",
    ),
    path(
        f"{base}<int:repo_id>/robots/<int:robot_id>/rotate/",
        views.RobotRotateView.as_view(),
        name="robot-rotate",
    ),
    path(
        f"{base}<int:repo_id>/robots/<int:robot_id>/retry/",
        views.RobotRetryView.as_view(),
        name="robot-retry",
    ),
]
