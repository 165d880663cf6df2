import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

from hub.aws import AwsError

from . import sts
from .models import EcrIdentity

logger = logging.getLogger(__name__)

ACCOUNT_CACHE_KEY = "identities:aws-account-id"


@dataclass(frozen=True)
class EcrRegistry:
    account_id: str  # empty when AWS could not be asked
    region: str

    @property
    def host(self) -> str:
        if not self.account_id:
            return ""
        return f"{self.account_id}.dkr.ecr.{self.region}.amazonaws.com"


def ecr_identity_of(user) -> EcrIdentity | None:
    """The person's own identity. There is no selector for anyone else's."""
    if not user.is_authenticated:
        return None
    return EcrIdentity.objects.filter(user=user).first()


def _account_from_arn(arn: str) -> str:
    parts = arn.split(":")
    return parts[4] if len(parts) > 5 and parts[4].isdigit() else ""


def aws_account_id(identity: EcrIdentity | None = None) -> str:
    """The account the hub works in: from an ARN the hub already recorded (the person's
    own, or any identity's), else asked of STS once and remembered."""
    for arn in (
        getattr(identity, "iam_arn", ""),
        EcrIdentity.objects.exclude(iam_arn="").values_list("iam_arn", flat=True).first() or "",
    ):
        account = _account_from_arn(arn)
        if account:
            return account
    account = cache.get(ACCOUNT_CACHE_KEY)
    if account is not None:
        return account  # "" for a minute after STS failed: pages stay fast while it is down
    try:
        account = sts.caller_account_id()
    except AwsError as exc:
        logger.warning("Could not find the AWS account id: %s", exc.reason)
        cache.set(ACCOUNT_CACHE_KEY, "", 60)
        return ""
    cache.set(ACCOUNT_CACHE_KEY, account, 24 * 3600)
    return account


def ecr_registry(identity: EcrIdentity | None = None) -> EcrRegistry:
    return EcrRegistry(account_id=aws_account_id(identity), region=settings.AWS_DEFAULT_REGION)
