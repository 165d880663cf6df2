from django.apps import AppConfig


class ProjectsConfig(AppConfig):
    name = "projects"

    def ready(self) -> None:
        from . import signals  # noqa: F401 - connects the membership receiver
