"""The guide's whole flow against an AWS stand-in that enforces IAM, with the hub holding
nothing but the actions of aws/hub-policy.json.

The moto server runs with INITIAL_NO_AUTH_ACTION_COUNT: the first requests (the operator's
set-up: the boundary policy, the hub's IAM user with its policy and key, an admin for the
test's own look-ups) go through unauthenticated, every later one is checked against the
caller's identity policies. moto evaluates only Action (resources must be "*", and it
treats a condition it cannot evaluate as a denial), so the hub's policy is loaded with every
resource widened to "*", its conditions dropped and its Deny statements left out: a
widening, never an extra action. Resources and conditions are checked in
tests/hub/test_aws_policy.py instead.
"""

import json
import os

import boto3
import pytest
from botocore.exceptions import ClientError
from django.contrib.auth import get_user_model

from docker_repos import services
from docker_repos.access import access_set
from docker_repos.models import DockerRepo, RepoAccess, RobotAccount
from docker_repos.policy import render_lifecycle_policy
from docker_repos.reconcile import reconcile
from docker_repos.robots import robot_reveal_credentials, robot_rotate
from hub import aws as hub_aws
from hub import awsstandin, iam_policies
from hub.choices import Status
from identities import services as identity_services
from identities.models import EcrIdentity
from projects import services as project_services
from tests.access_helpers import converging
from tests.procs import free_port, start, stop, wait_for_port

REGION = "eu-west-2"
SETUP_REQUESTS = 7  # see _operator_setup
DENIED = {
    "AccessDenied",
    "AccessDeniedException",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
}


def moto_view(policy: dict) -> dict:
    """The hub's policy as moto can evaluate it: the same Allow actions, on "*"."""
    statements = [
        {"Effect": "Allow", "Action": s["Action"], "Resource": "*"}
        for s in policy["Statement"]
        if s["Effect"] == "Allow"
    ]
    return {"Version": "2012-10-17", "Statement": statements}


def _operator_setup(endpoint: str, boundary_arn: str) -> tuple[dict, dict]:
    """Exactly SETUP_REQUESTS unauthenticated requests. Returns the hub's and an admin's
    credentials."""
    awsstandin.prepare(endpoint, boundary_arn)  # 1: the boundary policy
    root = boto3.client(
        "iam",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    root.create_user(UserName="platform-hub")  # 2
    root.put_user_policy(
        UserName="platform-hub",
        PolicyName="platform-hub",  # 3
        PolicyDocument=json.dumps(moto_view(iam_policies.hub_policy())),
    )
    hub_key = root.create_access_key(UserName="platform-hub")["AccessKey"]  # 4
    root.create_user(UserName="test-admin")  # 5
    root.put_user_policy(
        UserName="test-admin",
        PolicyName="all",
        PolicyDocument=json.dumps(  # 6
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
            }
        ),
    )
    admin_key = root.create_access_key(UserName="test-admin")["AccessKey"]  # 7

    def creds(key):
        return {
            "aws_access_key_id": key["AccessKeyId"],
            "aws_secret_access_key": key["SecretAccessKey"],
        }

    return creds(hub_key), creds(admin_key)


class CallLog:
    """Every AWS call the hub's clients make, and the ones AWS denied."""

    def __init__(self):
        self.calls: list[str] = []
        self.denied: list[str] = []

    def hook(self, client):
        client.meta.events.register("after-call", self._after_call)

    def _after_call(self, http_response, parsed, model, **kwargs):
        name = f"{model.service_model.endpoint_prefix}:{model.name}"
        self.calls.append(name)
        if parsed.get("Error", {}).get("Code") in DENIED:
            self.denied.append(f"{name}: {parsed['Error'].get('Message', '')}")


@pytest.fixture
def enforced_aws(tmp_path, settings, monkeypatch):
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    proc = start(
        "moto-enforced",
        awsstandin.command("127.0.0.1", port),
        log_dir=tmp_path,
        env={**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": str(SETUP_REQUESTS)},
    )
    log = CallLog()
    try:
        wait_for_port(port, proc=proc)
        hub_creds, admin_creds = _operator_setup(endpoint, settings.HUB_IAM_PERMISSIONS_BOUNDARY)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", hub_creds["aws_access_key_id"])
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", hub_creds["aws_secret_access_key"])
        monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
        monkeypatch.delenv("AWS_PROFILE", raising=False)
        settings.AWS_ENDPOINT_URL = endpoint
        settings.AWS_DEFAULT_REGION = REGION
        settings.HUB_TASK_RETRY_BASE = 0
        settings.HUB_RECONCILE_STUCK_AFTER = 0
        monkeypatch.setattr(hub_aws, "CLIENT_HOOKS", [log.hook])
        # botocore sessions keep the credentials they first found: a fresh one takes these.
        monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
        hub_aws.reset_clients()
        admin = boto3.session.Session(region_name=REGION, **admin_creds)
        yield type(
            "Enforced",
            (),
            {
                "log": log,
                "endpoint": endpoint,
                "proc": proc,
                "iam": admin.client("iam", endpoint_url=endpoint),
                "ecr": admin.client("ecr", endpoint_url=endpoint),
            },
        )
    finally:
        stop(proc)
        hub_aws.reset_clients()


def test_the_stand_in_really_enforces(enforced_aws):
    """Before trusting a flow with no denial: the hub's credentials are refused an action
    the policy lacks, and unknown credentials are refused everything."""
    hub_iam = hub_aws.client("iam")
    with pytest.raises(ClientError) as denied:
        hub_iam.create_role(RoleName="evil", AssumeRolePolicyDocument="{}")
    assert denied.value.response["Error"]["Code"] == "AccessDenied"
    stranger = boto3.client(
        "ecr",
        endpoint_url=enforced_aws.endpoint,
        region_name=REGION,
        aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
        aws_secret_access_key="x" * 40,
    )
    with pytest.raises(ClientError):
        stranger.describe_repositories()
    # And the hub's own ECR calls go through.
    hub_aws.client("ecr").describe_repositories()


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def _state(model, **filters):
    return list(model.objects.filter(**filters).values_list("status", "status_detail"))


def test_the_guides_flow_needs_no_other_permission(
    world, enforced_aws, settings, django_capture_on_commit_callbacks
):
    admin, member = world.users["project_admin"], world.users["member"]
    log = enforced_aws.log
    with converging(django_capture_on_commit_callbacks):
        # Request a repository; it becomes active.
        repo = services.repo_request(
            actor=member,
            project=world.project,
            service=world.service,
            name="web",
            keep_last_images=10,
        )
        other = services.repo_request(
            actor=member, project=world.project, service=world.service, name="api"
        )
    repo.refresh_from_db()
    assert repo.status == Status.ACTIVE, repo.status_detail
    services.repo_images(repo)

    with converging(django_capture_on_commit_callbacks):
        # A robot for CI and pull+push for a member.
        access_set(
            actor=admin,
            repo=repo,
            robots=[{"name": "ci"}],
            users=[{"username": "member", "writable": True}],
        )
    robot = RobotAccount.objects.get(repo=repo)
    assert _state(RobotAccount, repo=repo) == [(Status.ACTIVE, "")]
    assert _state(RepoAccess, repo=repo) == [(Status.ACTIVE, "")]
    boundary = enforced_aws.iam.get_user(UserName=robot.iam_username)["User"]
    assert (
        boundary["PermissionsBoundary"]["PermissionsBoundaryArn"]
        == iam_policies.hub_policy()["Statement"][1]["Condition"]["ArnEquals"][
            "iam:PermissionsBoundary"
        ]
    )

    robot_reveal_credentials(actor=admin, robot=robot)
    with converging(django_capture_on_commit_callbacks):
        robot_rotate(actor=admin, robot=robot)
    robot.refresh_from_db()
    assert robot.status == Status.ACTIVE, robot.status_detail
    keys = enforced_aws.iam.list_access_keys(UserName=robot.iam_username)["AccessKeyMetadata"]
    assert [k["AccessKeyId"] for k in keys] == [robot.access_key_id]

    with converging(django_capture_on_commit_callbacks):
        # Connected Identities: the admin's own credentials, rotated once.
        identity_services.ecr_identity_request(user=admin)
    with converging(django_capture_on_commit_callbacks):
        identity_services.ecr_identity_rotate(user=admin)
    identity_services.ecr_identity_reveal(user=admin)
    assert _state(EcrIdentity, user=admin) == [(Status.ACTIVE, "")]

    # Drift outside the hub (settings, a deleted key, a removed boundary), then one
    # reconciler pass.
    enforced_aws.ecr.put_image_tag_mutability(
        repositoryName=repo.full_name, imageTagMutability="IMMUTABLE"
    )
    keys = enforced_aws.iam.list_access_keys(UserName=robot.iam_username)["AccessKeyMetadata"]
    enforced_aws.iam.delete_access_key(
        UserName=robot.iam_username, AccessKeyId=keys[0]["AccessKeyId"]
    )
    enforced_aws.ecr.put_lifecycle_policy(
        repositoryName=other.full_name,
        lifecyclePolicyText=json.dumps(render_lifecycle_policy(keep_last_images=1)),
    )
    identity = EcrIdentity.objects.get(user=admin)
    enforced_aws.iam.delete_user_permissions_boundary(UserName=identity.iam_username)
    with converging(django_capture_on_commit_callbacks):
        report = reconcile()
    assert not report.errors, report.errors
    assert (
        enforced_aws.iam.get_user(UserName=identity.iam_username)["User"]["PermissionsBoundary"][
            "PermissionsBoundaryArn"
        ]
        == settings.HUB_IAM_PERMISSIONS_BOUNDARY
    )
    assert (
        enforced_aws.ecr.describe_repositories(repositoryNames=[repo.full_name])["repositories"][0][
            "imageTagMutability"
        ]
        == repo.tag_mutability
    )
    robot.refresh_from_db()
    assert robot.status == Status.ACTIVE, robot.status_detail

    # Offboarding: the member, who saw the robot's key, leaves the project (the key is
    # rotated), then is deactivated.
    robot_reveal_credentials(actor=member, robot=robot)
    seen_key = robot.access_key_id
    with converging(django_capture_on_commit_callbacks):
        project_services.membership_remove(actor=admin, project=world.project, user=member)
    assert not RepoAccess.objects.filter(repo=repo).exists()
    robot.refresh_from_db()
    assert robot.status == Status.ACTIVE and robot.access_key_id != seen_key
    assert [
        k["AccessKeyId"]
        for k in enforced_aws.iam.list_access_keys(UserName=robot.iam_username)["AccessKeyMetadata"]
    ] == [robot.access_key_id]
    with converging(django_capture_on_commit_callbacks):
        member.is_active = False
        member.save()
    member_identity = EcrIdentity.objects.get(user=member)
    assert (
        enforced_aws.iam.list_access_keys(UserName=member_identity.iam_username)[
            "AccessKeyMetadata"
        ]
        == []
    )

    # Remove the robot, then delete the repository.
    with converging(django_capture_on_commit_callbacks):
        access_set(actor=admin, repo=repo, robots=[], users=[])
    assert not RobotAccount.objects.filter(repo=repo).exists()
    with pytest.raises(ClientError):
        enforced_aws.iam.get_user(UserName=robot.iam_username)
    with pytest.raises(ClientError):  # the lifecycle policy added outside the hub is gone
        enforced_aws.ecr.get_lifecycle_policy(repositoryName=other.full_name)
    with converging(django_capture_on_commit_callbacks):
        services.repo_delete(actor=admin, repo=repo)
        services.repo_delete(actor=admin, repo=other)
    assert not DockerRepo.objects.exists()
    assert enforced_aws.ecr.describe_repositories()["repositories"] == []

    # A deleted person's IAM user goes too.
    with converging(django_capture_on_commit_callbacks):
        get_user_model().objects.filter(pk=member.pk).first().delete()
    with pytest.raises(ClientError):
        enforced_aws.iam.get_user(UserName=member_identity.iam_username)

    print(
        f"\nenforced IAM flow: {len(log.calls)} AWS calls, {len(log.denied)} denied: "
        f"{sorted(set(log.calls))}"
    )
    assert log.denied == []
    # The flow used every action the policy grants (ecr:TagResource and iam:TagUser are
    # checked as part of CreateRepository and CreateUser with tags): nothing granted goes
    # untried under enforcement.
    called = {call.removeprefix("api.") for call in log.calls}
    granted = {
        action
        for statement in iam_policies.hub_policy()["Statement"]
        if statement["Effect"] == "Allow"
        for action in _as_list(statement["Action"])
    }
    assert granted - called == {"ecr:TagResource", "iam:TagUser"}
    assert "Access denied" not in enforced_aws.proc.log()
