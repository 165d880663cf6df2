"""Domain signals that apps above `projects` react to (imports point downwards)."""

from django.dispatch import Signal

# Sent inside the transaction that removed the membership; kwargs: project, user, actor.
member_removed = Signal()
