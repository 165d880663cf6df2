from django.urls import path

from . import views

app_name = "docker_repos"

urlpatterns = [
    path("projects/<slug:shortname>/docker-repos/", views.ProjectReposView.as_view(),
         name="project-repos"),
]
