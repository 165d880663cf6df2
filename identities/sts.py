"""The one STS call the hub makes: which AWS account it works in (for the registry host
shown on the Connected Identities page when no ARN in the database says it already)."""

from hub.aws import aws_call, client


def caller_account_id() -> str:
    with aws_call("find the hub's AWS account"):
        return client("sts").get_caller_identity()["Account"]
