"""The local AWS stand-in (moto) of `make run` and the tests, taught the one IAM rule the
hub relies on that moto lacks: permissions boundaries on IAM *users* (moto keeps them on
roles only). With `install()`, CreateUser takes and checks `PermissionsBoundary` (the
policy must exist, as in AWS), GetUser returns it, and PutUserPermissionsBoundary /
DeleteUserPermissionsBoundary work. What a boundary *limits* is still not evaluated by
moto; tests/aws check that with parliament and the enforced stand-in.

`python -m hub.awsstandin -H 127.0.0.1 -p 5000` runs moto's server with this installed
(moto_server's arguments)."""

import sys
from pathlib import Path

import boto3
from moto.core.responses import EmptyResult
from moto.iam import models, responses
from moto.iam.exceptions import InvalidInput, NoSuchEntity
from moto.server import main as moto_main

_installed = False


def _check_boundary(backend, arn: str) -> None:
    if not backend.policy_arn_regex.match(arn):
        raise InvalidInput(f"Value ({arn}) for parameter PermissionsBoundary is invalid.")
    if arn not in backend.managed_policies:
        raise NoSuchEntity(f"Policy {arn} does not exist or is not attachable.")


def _patch(cls: type, **attributes: object) -> None:
    """Give one of moto's classes new or replaced attributes (unknown to type checkers)."""
    for name, value in attributes.items():
        setattr(cls, name, value)


def install() -> None:
    """Patch moto's IAM (idempotent)."""
    global _installed
    if _installed:
        return
    _installed = True

    def permissions_boundary(self):
        arn = getattr(self, "permissions_boundary_arn", None)
        if not arn:
            return None
        return {"PermissionsBoundaryType": "PermissionsPolicy", "PermissionsBoundaryArn": arn}

    _patch(models.User, permissions_boundary=property(permissions_boundary))

    original_create_user = responses.IamResponse.create_user

    def create_user(self):
        arn = self._get_param("PermissionsBoundary")
        if arn:
            _check_boundary(self.backend, arn)
        result = original_create_user(self)
        if arn:
            self.backend.get_user(self._get_param("UserName")).permissions_boundary_arn = arn
        return result

    def put_user_permissions_boundary(self):
        arn = self._get_param("PermissionsBoundary")
        _check_boundary(self.backend, arn)
        self.backend.get_user(self._get_param("UserName")).permissions_boundary_arn = arn
        return EmptyResult()

    def delete_user_permissions_boundary(self):
        self.backend.get_user(self._get_param("UserName")).permissions_boundary_arn = None
        return EmptyResult()

    _patch(
        responses.IamResponse,
        create_user=create_user,
        put_user_permissions_boundary=put_user_permissions_boundary,
        delete_user_permissions_boundary=delete_user_permissions_boundary,
    )
    for key in (
        "CreateUserResponse.User.PermissionsBoundary",
        "GetUserResponse.User.PermissionsBoundary",
    ):
        responses.IamResponse.RESPONSE_KEY_PATH_TO_TRANSFORMER.setdefault(
            key, responses.return_if_not_empty
        )


def create_boundary_policy(iam_client, boundary_arn: str) -> None:
    """The operator's one-time step (docs/aws.md), done for the stand-in: the managed
    policy `boundary_arn` names, from aws/user-boundary.json. Idempotent."""

    path, _, name = boundary_arn.split(":policy", 1)[1].rpartition("/")
    document = Path(__file__).resolve().parent.parent / "aws" / "user-boundary.json"
    try:
        iam_client.create_policy(
            PolicyName=name, Path=f"{path}/", PolicyDocument=document.read_text()
        )
    except iam_client.exceptions.EntityAlreadyExistsException:
        pass


def command(host: str, port: int) -> list[str]:
    """The command that runs the stand-in server, with this interpreter."""
    return [sys.executable, "-m", "hub.awsstandin", "-H", host, "-p", str(port)]


def prepare(endpoint_url: str, boundary_arn: str) -> None:
    """Once the stand-in server answers: do the operator's one-time steps in it."""

    iam_client = boto3.client(
        "iam",
        endpoint_url=endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    create_boundary_policy(iam_client, boundary_arn)


def main(argv: list[str] | None = None) -> None:
    install()

    moto_main(argv if argv is not None else sys.argv[1:])


if __name__ == "__main__":
    main()
