"""Reactions to domain signals of the apps below (connected in apps.ready)."""

from . import access


def member_removed(sender, project, user, actor=None, **kwargs) -> None:
    """projects.signals.member_removed: their access to the project's repositories goes."""
    access.access_member_removed(project=project, user=user, actor=actor)


def ecr_identity_ready(sender, identity, iam_user_created=False, **kwargs) -> None:
    access.access_identity_ready(identity=identity, iam_user_created=iam_user_created)


def ecr_identity_failed(sender, identity, reason, **kwargs) -> None:
    access.access_identity_failed(identity=identity, reason=reason)


def user_deleting(sender, instance, **kwargs) -> None:
    access.access_user_deleted(user=instance)


def user_saved(sender, instance, created, **kwargs) -> None:
    """A deactivated account (e.g. unticked "active" in the admin): the robot keys its
    person saw are rotated."""
    if not created and not instance.is_active:
        access.access_user_deactivated(user=instance)
