"""IAM eventual consistency: ECR rejects a policy naming a brand-new IAM user for a few
seconds ("Invalid repository policy provided"). That is retried, not failed; and entries
become active only once AWS accepted the policy containing them. moto accepts any
principal, so the rejection is made with a botocore handler inside the hub's clients."""

import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError

from docker_repos.access import access_retry, access_set
from docker_repos.ecr import classify_policy_rejection
from docker_repos.models import RepoAccess, RobotAccount
from docker_repos.robots import robot_retry
from docker_repos.tasks import sync_repo_access
from hub.aws import AwsPermanentError, AwsTransientError
from hub.choices import Status
from tests.access_helpers import active_repo, converging, db_grants, policy_grants

REJECTION = (
    "Invalid parameter at 'PolicyText' failed to satisfy constraint: "
    "'Invalid repository policy provided'"
)


def invalid_parameter(message: str) -> ClientError:
    return ClientError(
        {
            "Error": {"Code": "InvalidParameterException", "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": 400},
        },
        "SetRepositoryPolicy",
    )


def test_a_rejected_principal_is_transient():
    error = classify_policy_rejection(invalid_parameter(REJECTION), "write the policy")
    assert isinstance(error, AwsTransientError)
    assert error.code == "PolicyPrincipalNotReady"
    assert "new IAM user" in error.reason


def test_any_other_invalid_parameter_is_permanent():
    error = classify_policy_rejection(
        invalid_parameter("Invalid parameter at 'repositoryName'"), "write the policy"
    )
    assert isinstance(error, AwsPermanentError)


@pytest.fixture
def hub_events(boto_events):
    return boto_events


def reject_new_principals(times: int, seen: list):
    """SetRepositoryPolicy answers as ECR does for an unknown principal, `times` times;
    each rejection records the entries' statuses at that moment."""

    def handler(model, **kwargs):
        if model.name != "SetRepositoryPolicy" or len(seen) >= times:
            return None
        seen.append(
            (
                list(RobotAccount.objects.values_list("status", flat=True)),
                list(RepoAccess.objects.values_list("status", flat=True)),
            )
        )
        parsed = {
            "Error": {"Code": "InvalidParameterException", "Message": REJECTION},
            "ResponseMetadata": {"HTTPStatusCode": 400},
        }
        return AWSResponse("https://api.ecr.test/", 400, {}, None), parsed

    return handler


def test_the_sync_retries_until_ecr_knows_the_new_users(
    world, aws, hub_events, settings, django_capture_on_commit_callbacks
):
    settings.HUB_TASK_MAX_RETRIES = 6
    repo = active_repo(world)
    seen = []
    hub_events.register("before-call.ecr.SetRepositoryPolicy", reject_new_principals(3, seen))
    with converging(django_capture_on_commit_callbacks):
        access_set(
            actor=world.users["member"],
            repo=repo,
            robots=[{"name": "ci"}],
            users=[{"username": "padmin", "writable": False}],
        )
    assert len(seen) == 3
    # While ECR refused the policy, nothing was active.
    for robots, people in seen:
        assert Status.ACTIVE not in robots + people
    assert RobotAccount.objects.get().status == Status.ACTIVE
    assert RepoAccess.objects.get().status == Status.ACTIVE
    assert RepoAccess.objects.get().status_detail == ""
    assert policy_grants("acp/web") == db_grants(repo)


def test_the_retries_are_noted_on_the_waiting_entries(
    world, aws, hub_events, settings, django_capture_on_commit_callbacks
):
    """What a person sees while it waits: pending, with the reason and the attempt."""
    repo = active_repo(world)
    with converging(django_capture_on_commit_callbacks):
        access_set(
            actor=world.users["member"],
            repo=repo,
            robots=[],
            users=[{"username": "padmin", "writable": False}],
        )

    RepoAccess.objects.update(status=Status.PENDING)
    notes = []

    def handler(model, **kwargs):
        notes.append(RepoAccess.objects.get().status_detail)
        parsed = {
            "Error": {"Code": "InvalidParameterException", "Message": REJECTION},
            "ResponseMetadata": {"HTTPStatusCode": 400},
        }
        return AWSResponse("https://api.ecr.test/", 400, {}, None), parsed

    settings.HUB_TASK_MAX_RETRIES = 2
    hub_events.register("before-call.ecr.SetRepositoryPolicy", handler)
    sync_repo_access.apply(args=[repo.pk])
    assert "new IAM user" in notes[1] and "attempt 1 of 3" in notes[1]
    access = RepoAccess.objects.get()
    # It gave up in the end (AWS never accepted): failed, with the reason and Retry.
    assert access.status == Status.FAILED
    assert "new IAM user" in access.status_detail
    assert "press Retry" in access.status_detail


def test_removed_entries_stay_until_aws_accepted_the_policy_without_them(
    world, aws, hub_events, settings, django_capture_on_commit_callbacks
):
    # A cluster role keeps a policy in place, so each change is a SetRepositoryPolicy.
    settings.HUB_ECR_PULL_PRINCIPALS = ["arn:aws:iam::123456789012:role/node"]
    repo = active_repo(world)
    with converging(django_capture_on_commit_callbacks):
        access_set(
            actor=world.users["member"],
            repo=repo,
            robots=[{"name": "ci"}],
            users=[{"username": "padmin", "writable": True}],
        )
    padmin_arn = RepoAccess.objects.get().user.ecr_identity.iam_arn
    robot_arn = RobotAccount.objects.get().iam_arn
    settings.HUB_TASK_MAX_RETRIES = 0
    seen = []
    hub_events.register("before-call.ecr.SetRepositoryPolicy", reject_new_principals(1, seen))
    with converging(django_capture_on_commit_callbacks):
        access_set(actor=world.users["member"], repo=repo, robots=[], users=[])
    assert len(seen) == 1
    # The write failed: both are still there (failed, to be retried as removals), and AWS
    # still grants them what it did.
    access, robot = RepoAccess.objects.get(), RobotAccount.objects.get()
    assert (access.status, robot.status) == (Status.FAILED, Status.FAILED)
    assert access.removal_requested and robot.removal_requested
    assert {padmin_arn, robot_arn} <= policy_grants("acp/web")["push"]
    # Retry: now AWS accepts, and only then are they gone.
    with converging(django_capture_on_commit_callbacks):
        access_retry(actor=world.users["member"], access=access)
        robot_retry(actor=world.users["member"], robot=robot)
    assert not RepoAccess.objects.exists() and not RobotAccount.objects.exists()
    assert (
        policy_grants("acp/web")
        == db_grants(repo)
        == {"pull": {"arn:aws:iam::123456789012:role/node"}, "push": set()}
    )
