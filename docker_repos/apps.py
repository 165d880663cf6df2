from django.apps import AppConfig


class DockerReposConfig(AppConfig):
    name = "docker_repos"
    verbose_name = "Docker repositories"
