from django.apps import AppConfig
from django.contrib.auth import get_user_model
from django.db.models.signals import post_delete, post_save


class IdentitiesConfig(AppConfig):
    name = "identities"
    verbose_name = "Identities and API tokens"

    def ready(self):
        # Imported here, not at the top: they import the models, and Django imports this
        # module before any app's models can be loaded.
        from . import audit_text, handlers  # noqa: F401 - audit_text: how events read
        from .models import EcrIdentity

        post_save.connect(
            handlers.user_saved, sender=get_user_model(), dispatch_uid="identities.user_saved"
        )
        post_delete.connect(
            handlers.ecr_identity_deleted,
            sender=EcrIdentity,
            dispatch_uid="identities.ecr_identity_deleted",
        )
