from django.apps import AppConfig


class HubConfig(AppConfig):
    name = "hub"
    verbose_name = "Hub"

    def ready(self):
        from . import oidc  # noqa: F401  (connects its sign-in signal receiver)
