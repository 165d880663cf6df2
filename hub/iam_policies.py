"""The hub's own IAM documents, as an operator applies them: `aws/hub-policy.json` (what the
hub may do) and `aws/user-boundary.json` (the permissions boundary of every IAM user the
hub creates), filled in from configuration. `manage.py hub_aws_policy` prints them.

The templates hold placeholders (JSON has no comments; docs/aws.md explains them):
PARTITION, ACCOUNT_ID and BOUNDARY_ARN come from HUB_IAM_PERMISSIONS_BOUNDARY (an ARN in
the hub's account), REGION from AWS_DEFAULT_REGION."""

import json
import re

from django.conf import settings

AWS_DIR = settings.BASE_DIR / "aws"
_POLICY_ARN = re.compile(r"arn:(?P<partition>aws[a-z-]*):iam::(?P<account>\d{12}):policy/.+")


def _fill(template: str, replacements: dict[str, str]) -> dict:
    for placeholder, value in replacements.items():
        template = template.replace(placeholder, value)
    return json.loads(template)


def hub_policy(*, region: str | None = None, boundary_arn: str | None = None) -> dict:
    """aws/hub-policy.json for this configuration (or the given region and boundary)."""
    boundary_arn = boundary_arn or settings.HUB_IAM_PERMISSIONS_BOUNDARY
    parts = _POLICY_ARN.fullmatch(boundary_arn)
    if parts is None:
        raise ValueError(f"not an IAM managed policy ARN: {boundary_arn}")
    return _fill(
        (AWS_DIR / "hub-policy.json").read_text(),
        {
            "BOUNDARY_ARN": boundary_arn,
            "PARTITION": parts["partition"],
            "ACCOUNT_ID": parts["account"],
            "REGION": region or settings.AWS_DEFAULT_REGION,
        },
    )


def user_boundary_policy() -> dict:
    """aws/user-boundary.json: hub users may only fetch an ECR login token; what they may
    pull or push is granted by the repositories' own policies."""
    return json.loads((AWS_DIR / "user-boundary.json").read_text())
