from django.apps import AppConfig


class ProjectsConfig(AppConfig):
    name = "projects"

    def ready(self) -> None:
        # Imported here: connecting its receiver to the Membership model needs the models
        # loaded, which they are not when Django imports this module.
        from . import audit_text, signals  # noqa: F401 - how events read; the membership receiver
