from django.views.generic import TemplateView

from projects.views import ProjectViewMixin


class ProjectReposView(ProjectViewMixin, TemplateView):
    """The ALL DOCKER REPOS tab."""

    template_name = "docker_repos/project_repos.html"
    tab = "repos"
