from django.apps import AppConfig


class ProjectsConfig(AppConfig):
    name = "projects"

    def ready(self) -> None:
        from . import audit_text, signals  # noqa: F401 - how events read; the membership receiver
