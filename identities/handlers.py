"""Reactions to changes made elsewhere (the admin, other apps), connected in apps.ready."""

from hub.tasks import enqueue_on_commit

from . import services, tasks


def user_saved(sender, instance, created, **kwargs) -> None:
    """A deactivated account (e.g. unticked "active" in the admin) loses its access keys."""
    if not created and not instance.is_active:
        services.ecr_identity_deactivate(user=instance)


def ecr_identity_deleted(sender, instance, **kwargs) -> None:
    """The row went with its person: the IAM user goes too, once that is committed."""

    enqueue_on_commit(tasks.delete_iam_user, instance.iam_username)
