from django.apps import AppConfig


class ProjectsConfig(AppConfig):
    name = "projects"

    def ready(self) -> None:
        # Imported here: connecting its receiver to the Membership model needs the models
        # loaded, which they are not when Django imports this module.
        from . import signals  # noqa: F401 - connects the membership receiver
