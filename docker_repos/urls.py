from django.urls import path

from . import views

app_name = "docker_repos"

base = "projects/<slug:shortname>/docker-repos/"

urlpatterns = [
    path(base, views.ProjectReposView.as_view(), name="project-repos"),
    path(f"{base}fragment/", views.ProjectReposFragmentView.as_view(),
         name="project-repos-fragment"),
    path(f"{base}new/", views.RepoRequestView.as_view(), name="request"),
    path(f"{base}<int:repo_id>/", views.RepoDetailView.as_view(), name="detail"),
    path(f"{base}<int:repo_id>/status/", views.RepoStatusFragmentView.as_view(),
         name="status-fragment"),
    path(f"{base}<int:repo_id>/delete/", views.RepoDeleteView.as_view(), name="delete"),
    path(f"{base}<int:repo_id>/retry/", views.RepoRetryView.as_view(), name="retry"),
]
