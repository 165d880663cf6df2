"""Domain signals that apps above `projects` react to (imports point downwards)."""

from django.db.models.signals import post_delete
from django.dispatch import Signal, receiver

# Sent inside the transaction that removed the membership; kwargs: project, user, actor.
member_removed = Signal()


@receiver(post_delete, sender="projects.Membership")
def membership_deleted(sender, instance, **kwargs) -> None:
    """However a membership goes (the project page, the API, the Django admin, a deleted
    user), the apps above hear of it. `membership_remove` names the actor."""
    member_removed.send(
        sender=sender,
        project=instance.project,
        user=instance.user,
        actor=getattr(instance, "removed_by", None),
    )
