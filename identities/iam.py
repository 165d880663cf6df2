"""Every IAM call the hub makes. The hub only touches users under the path /platform-hub/
(its own policy allows nothing else). Failures come out as hub.aws.AwsError; "not found"
on reads and deletes is an ordinary answer, not an error.

Secret access keys pass through here once, on creation, straight to the caller, which
encrypts them. Nothing here logs, and no error message contains a key."""

import json
from dataclasses import dataclass, field

from botocore.exceptions import ClientError
from django.conf import settings

from hub.aws import AwsPermanentError, aws_call, client

IAM_PATH = "/platform-hub/"
MANAGED_BY = {"managed-by": "platform-hub"}
# The one identity policy of every hub user: what `docker login` needs. Who may pull and
# push which repository is in the repositories' own policies.
LOGIN_POLICY_NAME = "platform-hub-ecr-login"
LOGIN_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "EcrLogin",
            "Effect": "Allow",
            "Action": "ecr:GetAuthorizationToken",
            "Resource": "*",
        }
    ],
}


@dataclass(frozen=True)
class IamUser:
    arn: str
    created: bool  # by this call (a new unique id: policies naming the old one miss it)


@dataclass(frozen=True)
class NewAccessKey:
    key_id: str
    secret: str = field(repr=False)  # never in a repr, a traceback's locals or a log line


def _iam():
    return client("iam")


def ensure_user(name: str, *, tags: dict[str, str]) -> IamUser:
    """Create the IAM user `name` under /platform-hub/ with `tags` (plus managed-by), or
    adopt it if the hub created it before."""
    iam = _iam()
    all_tags = {**tags, **MANAGED_BY}
    try:
        with aws_call(f"create IAM user {name}", ok_codes=("EntityAlreadyExists",)):
            response = iam.create_user(
                Path=IAM_PATH,
                UserName=name,
                PermissionsBoundary=settings.HUB_IAM_PERMISSIONS_BOUNDARY,
                Tags=[{"Key": k, "Value": v} for k, v in sorted(all_tags.items())],
            )
        return IamUser(response["User"]["Arn"], created=True)
    except ClientError:
        pass  # it exists: ours (a rerun after a crash) or someone else's?
    with aws_call(f"look up IAM user {name}"):
        user = iam.get_user(UserName=name)["User"]
        found_tags = {
            t["Key"]: t["Value"] for t in iam.list_user_tags(UserName=name).get("Tags", [])
        }
    if user.get("Path") != IAM_PATH or found_tags.get("managed-by") != "platform-hub":
        raise AwsPermanentError(
            f"The IAM user name {name} is already taken by a user the hub does not manage. "
            "An operator must rename or remove that user.",
            code="NameTaken",
        )
    if _boundary_of(user) != settings.HUB_IAM_PERMISSIONS_BOUNDARY:
        put_user_boundary(name)  # created before the hub set boundaries
    return IamUser(user["Arn"], created=False)


def _boundary_of(user: dict) -> str | None:
    return (user.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")


def _get_user(name: str) -> dict | None:
    """GetUser's answer, or None if the user does not exist."""
    try:
        with aws_call(f"look up IAM user {name}", ok_codes=("NoSuchEntity",)):
            return _iam().get_user(UserName=name)["User"]
    except ClientError:
        return None


def user_boundary(name: str) -> str | None:
    """The ARN of the user's permissions boundary (None if it has none or does not
    exist)."""
    user = _get_user(name)
    return _boundary_of(user) if user is not None else None


def user_exists(name: str) -> bool:
    return _get_user(name) is not None


def put_user_boundary(name: str) -> None:
    """Set the user's permissions boundary to HUB_IAM_PERMISSIONS_BOUNDARY (the only one
    the hub's own policy lets it set)."""
    with aws_call(f"set the permissions boundary of IAM user {name}"):
        _iam().put_user_permissions_boundary(
            UserName=name, PermissionsBoundary=settings.HUB_IAM_PERMISSIONS_BOUNDARY
        )


def put_login_policy(name: str) -> None:
    """The inline identity policy: ecr:GetAuthorizationToken only (idempotent)."""
    with aws_call(f"write the identity policy of IAM user {name}"):
        _iam().put_user_policy(
            UserName=name, PolicyName=LOGIN_POLICY_NAME, PolicyDocument=json.dumps(LOGIN_POLICY)
        )


def list_access_keys(name: str) -> list[str]:
    """The ids of the user's access keys ([] if the user does not exist)."""
    try:
        with aws_call(f"list the access keys of IAM user {name}", ok_codes=("NoSuchEntity",)):
            response = _iam().list_access_keys(UserName=name)
    except ClientError:
        return []
    return [key["AccessKeyId"] for key in response.get("AccessKeyMetadata", [])]


def create_access_key(name: str) -> NewAccessKey:
    with aws_call(f"create an access key for IAM user {name}"):
        key = _iam().create_access_key(UserName=name)["AccessKey"]
    return NewAccessKey(key_id=key["AccessKeyId"], secret=key["SecretAccessKey"])


def delete_access_key(name: str, key_id: str) -> None:
    try:
        with aws_call(f"delete access key {key_id} of IAM user {name}", ok_codes=("NoSuchEntity",)):
            _iam().delete_access_key(UserName=name, AccessKeyId=key_id)
    except ClientError:
        pass  # already gone


def delete_all_access_keys(name: str) -> list[str]:
    """Delete every access key of the user; returns the ids deleted."""
    keys = list_access_keys(name)
    for key_id in keys:
        delete_access_key(name, key_id)
    return keys


def delete_user(name: str) -> bool:
    """Delete the user with its access keys and inline policies (IAM refuses to delete a
    user that still has them). False if it was already gone."""
    iam = _iam()
    delete_all_access_keys(name)
    try:
        with aws_call(f"list the policies of IAM user {name}", ok_codes=("NoSuchEntity",)):
            policies = iam.list_user_policies(UserName=name).get("PolicyNames", [])
    except ClientError:
        return False
    for policy in policies:
        try:
            with aws_call(f"delete policy {policy} of IAM user {name}", ok_codes=("NoSuchEntity",)):
                iam.delete_user_policy(UserName=name, PolicyName=policy)
        except ClientError:
            pass
    try:
        with aws_call(f"delete IAM user {name}", ok_codes=("NoSuchEntity",)):
            iam.delete_user(UserName=name)
    except ClientError:
        return False
    return True


def hub_user_names() -> set[str]:
    """The names of every IAM user under the hub's path, read a page at a time."""
    names: set[str] = set()
    with aws_call("list the hub's IAM users"):
        for page in _iam().get_paginator("list_users").paginate(PathPrefix=IAM_PATH):
            names.update(user["UserName"] for user in page.get("Users", []))
    return names
