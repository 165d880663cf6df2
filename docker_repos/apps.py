from django.apps import AppConfig
from django.contrib.auth import get_user_model
from django.db.models.signals import post_save, pre_delete

from identities.signals import ecr_identity_failed, ecr_identity_ready
from projects.signals import member_removed


class DockerReposConfig(AppConfig):
    name = "docker_repos"
    verbose_name = "Docker repositories"

    def ready(self):
        # Imported here, not at the top: the receivers import the models, and Django
        # imports this module before any app's models can be loaded.
        from . import audit_text, handlers  # noqa: F401 - audit_text: how events read

        member_removed.connect(handlers.member_removed, dispatch_uid="docker_repos.member_removed")
        ecr_identity_ready.connect(
            handlers.ecr_identity_ready, dispatch_uid="docker_repos.ecr_identity_ready"
        )
        ecr_identity_failed.connect(
            handlers.ecr_identity_failed, dispatch_uid="docker_repos.ecr_identity_failed"
        )
        pre_delete.connect(
            handlers.user_deleting,
            sender=get_user_model(),
            dispatch_uid="docker_repos.user_deleting",
        )
        post_save.connect(
            handlers.user_saved, sender=get_user_model(), dispatch_uid="docker_repos.user_saved"
        )
