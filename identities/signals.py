"""Domain signals that apps above `identities` react to (imports point downwards)."""

from django.dispatch import Signal

# A person's ECR identity became usable (its IAM user exists, `iam_arn` is known): the
# repositories they were granted can now name them in their policies. Sent inside the
# transaction that recorded it; kwargs: identity, iam_user_created (this convergence made
# the IAM user: every policy naming the person must be written again, since a recreated
# user has a new unique id and an old policy does not grant it).
ecr_identity_ready = Signal()

# Creating a person's ECR identity failed; kwargs: identity, reason.
ecr_identity_failed = Signal()
