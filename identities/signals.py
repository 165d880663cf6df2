"""Domain signals that apps above `identities` react to (imports point downwards)."""

from django.dispatch import Signal

# A person's ECR identity became usable (its IAM user exists, `iam_arn` is known): the
# repositories they were granted can now name them in their policies. Sent inside the
# transaction that recorded it; kwargs: identity.
ecr_identity_ready = Signal()

# Creating a person's ECR identity failed; kwargs: identity, reason.
ecr_identity_failed = Signal()
