"""Robot accounts in IAM: the user, its one policy, its key; reveal, rotation, removal."""

import json

import pytest
from botocore.awsrequest import AWSResponse

from docker_repos.access import access_set
from docker_repos.models import RobotAccount
from docker_repos.robots import robot_provision, robot_retry, robot_reveal_credentials, robot_rotate
from hub.aws import AwsTransientError
from hub.choices import Status
from hub.crypto import decrypt
from hub.exceptions import Conflict, NotAllowed
from hub.models import AuditEvent
from identities.iam import IAM_PATH, LOGIN_POLICY, LOGIN_POLICY_NAME
from tests.access_helpers import (
    active_repo,
    converging,
    iam_keys,
    iam_users,
    own_client,
    provisioned_robot,
)

ROBOT = "hub-robot-acp-web-drone-ci"


@pytest.fixture
def robot(world, aws, django_capture_on_commit_callbacks) -> RobotAccount:
    return provisioned_robot(world, django_capture_on_commit_callbacks, actor="member")


def test_a_robot_is_an_iam_user_under_the_hub_path_allowed_only_to_log_in(robot):
    iam = own_client("iam")
    user = iam.get_user(UserName=ROBOT)["User"]
    assert user["Path"] == IAM_PATH
    assert robot.iam_arn == user["Arn"] == f"arn:aws:iam::123456789012:user/platform-hub/{ROBOT}"
    tags = {t["Key"]: t["Value"] for t in iam.list_user_tags(UserName=ROBOT)["Tags"]}
    assert tags == {
        "managed-by": "platform-hub",
        "hub-kind": "robot",
        "hub-project": "acp",
        "hub-repo-id": str(robot.repo_id),
        "hub-robot": "drone-ci",
    }
    assert iam.list_user_policies(UserName=ROBOT)["PolicyNames"] == [LOGIN_POLICY_NAME]
    document = iam.get_user_policy(UserName=ROBOT, PolicyName=LOGIN_POLICY_NAME)["PolicyDocument"]
    document = json.loads(document) if isinstance(document, str) else document
    assert document == LOGIN_POLICY
    assert document["Statement"][0]["Action"] == "ecr:GetAuthorizationToken"
    assert iam.list_attached_user_policies(UserName=ROBOT)["AttachedPolicies"] == []
    assert iam_keys(ROBOT) == [robot.access_key_id]


def test_the_secret_is_stored_encrypted_and_revealed_to_repo_managers_with_an_audit_event(
    world, robot
):
    assert robot.secret_access_key_encrypted.startswith("gAAAAA")
    key_id, secret = robot_reveal_credentials(actor=world.users["project_admin"], robot=robot)
    assert key_id == robot.access_key_id
    assert secret == decrypt(robot.secret_access_key_encrypted)
    assert len(secret) == 40 and secret not in robot.secret_access_key_encrypted
    event = AuditEvent.objects.get(action="robot.credentials_revealed")
    assert event.actor == world.users["project_admin"] and event.project_id == world.project.pk
    assert secret not in json.dumps(event.detail)


def test_only_repo_managers_may_reveal_or_rotate(world, robot):
    world.project.repo_management = "admins"
    world.project.save()
    for role in ("member", "non_member", "other_admin"):
        with pytest.raises(NotAllowed):
            robot_reveal_credentials(actor=world.users[role], robot=robot)
        with pytest.raises(NotAllowed):
            robot_rotate(actor=world.users[role], robot=robot)
    assert not AuditEvent.objects.filter(action="robot.credentials_revealed").exists()
    robot_reveal_credentials(actor=world.users["hub_admin"], robot=robot)


def test_credentials_are_revealed_only_while_active(world, robot):
    RobotAccount.objects.filter(pk=robot.pk).update(status=Status.PENDING)
    with pytest.raises(Conflict):
        robot_reveal_credentials(actor=world.users["member"], robot=robot)


def test_rotation_stores_the_new_key_and_deletes_the_old_one(
    world, robot, django_capture_on_commit_callbacks
):
    old_key, old_secret = robot_reveal_credentials(actor=world.users["member"], robot=robot)
    with converging(django_capture_on_commit_callbacks):
        rotating = robot_rotate(actor=world.users["member"], robot=robot)
        assert rotating.status == Status.PENDING
    robot.refresh_from_db()
    assert robot.status == Status.ACTIVE and not robot.rotation_requested
    new_key, new_secret = robot_reveal_credentials(actor=world.users["member"], robot=robot)
    assert new_key != old_key and new_secret != old_secret
    assert iam_keys(ROBOT) == [new_key]  # the old key is gone in IAM
    assert AuditEvent.objects.filter(action="robot.rotated").exists()


def test_only_an_active_robot_is_rotated(world, robot):
    RobotAccount.objects.filter(pk=robot.pk).update(status=Status.FAILED)
    with pytest.raises(Conflict):
        robot_rotate(actor=world.users["member"], robot=robot)


def _fail(operation: str, *, times: int, code: str = "ServiceUnavailable"):
    """A before-call handler making the hub's IAM `operation` fail `times` times."""
    calls = {"n": 0}

    def handler(model, **kwargs):
        if model.name != operation or calls["n"] >= times:
            return None
        calls["n"] += 1
        parsed = {
            "Error": {"Code": code, "Message": "try later"},
            "ResponseMetadata": {"HTTPStatusCode": 503},
        }
        return AWSResponse("https://iam.test/", 503, {}, None), parsed

    return handler


@pytest.fixture
def hub_events(boto_events):
    """Handlers inside the hub's own clients (tests/docker_repos/conftest.py)."""
    return boto_events


def test_a_rotation_failing_half_way_leaves_the_stored_key_working(
    world, robot, hub_events, settings, django_capture_on_commit_callbacks
):
    settings.HUB_TASK_MAX_RETRIES = 0
    old_key, old_secret = robot_reveal_credentials(actor=world.users["member"], robot=robot)
    # CreateAccessKey fails for good: the old key must be untouched and still stored.
    hub_events.register(
        "before-call.iam.CreateAccessKey", _fail("CreateAccessKey", times=100, code="LimitExceeded")
    )
    with converging(django_capture_on_commit_callbacks):
        robot_rotate(actor=world.users["member"], robot=robot)
    robot.refresh_from_db()
    assert robot.status == Status.ACTIVE, "a failed rotation keeps the robot usable"
    assert "Rotating the access key failed" in robot.status_detail
    assert iam_keys(ROBOT) == [old_key]
    assert robot_reveal_credentials(actor=world.users["member"], robot=robot) == (
        old_key,
        old_secret,
    )


def test_a_crash_after_storing_the_new_key_still_ends_with_one_working_key(
    world, robot, hub_events
):
    """DeleteAccessKey (of the old key) fails after the new key was stored: the stored key
    works, and the next run deletes the leftover old key."""
    old_key = robot.access_key_id
    robot_rotate(actor=world.users["member"], robot=robot)
    hub_events.register("before-call.iam.DeleteAccessKey", _fail("DeleteAccessKey", times=1))
    with pytest.raises(AwsTransientError):
        robot_provision(robot.pk)
    robot.refresh_from_db()
    assert robot.access_key_id != old_key
    assert sorted(iam_keys(ROBOT)) == sorted([old_key, robot.access_key_id])
    robot_provision(robot.pk)  # the retry
    robot.refresh_from_db()
    assert robot.status == Status.ACTIVE
    assert iam_keys(ROBOT) == [robot.access_key_id]


def test_keys_the_hub_does_not_hold_are_deleted_to_make_room(world, robot):
    """IAM allows two keys: an unknown key (a crash between creating and storing, or one
    made by hand) is deleted before a new one is created, and the stored key is never one
    IAM lacks."""
    iam = own_client("iam")
    stray = iam.create_access_key(UserName=ROBOT)["AccessKey"]["AccessKeyId"]
    assert len(iam_keys(ROBOT)) == 2
    robot_rotate(actor=world.users["member"], robot=robot)
    robot_provision(robot.pk)
    robot.refresh_from_db()
    assert stray not in iam_keys(ROBOT)
    assert iam_keys(ROBOT) == [robot.access_key_id]


def test_provisioning_again_changes_nothing(world, robot):
    RobotAccount.objects.filter(pk=robot.pk).update(status=Status.PENDING)
    robot_provision(robot.pk)
    robot_provision(robot.pk)
    robot.refresh_from_db()
    assert iam_keys(ROBOT) == [robot.access_key_id]


def test_a_failed_creation_is_retried_into_an_active_robot(
    world, aws, hub_events, settings, django_capture_on_commit_callbacks
):
    settings.HUB_TASK_MAX_RETRIES = 1
    repo = active_repo(world)
    hub_events.register("before-call.iam.CreateUser", _fail("CreateUser", times=2))
    with converging(django_capture_on_commit_callbacks):
        access_set(actor=world.users["member"], repo=repo, robots=[{"name": "ci"}], users=[])
    robot = RobotAccount.objects.get()
    assert robot.status == Status.FAILED
    assert "gave up after 2 attempts" in robot.status_detail
    with converging(django_capture_on_commit_callbacks):
        robot_retry(actor=world.users["member"], robot=robot)
    robot.refresh_from_db()
    assert robot.status == Status.ACTIVE


def test_removing_a_robot_deletes_its_iam_user_keys_and_policies_first(
    world, robot, hub_events, django_capture_on_commit_callbacks
):
    iam_calls = []
    hub_events.register("before-call.iam", lambda model, **kwargs: iam_calls.append(model.name))
    with converging(django_capture_on_commit_callbacks):
        access_set(actor=world.users["member"], repo=robot.repo, robots=[], users=[])
    assert ROBOT not in iam_users()
    assert not RobotAccount.objects.exists()
    assert iam_calls.index("DeleteAccessKey") < iam_calls.index("DeleteUser")
    assert iam_calls.index("DeleteUserPolicy") < iam_calls.index("DeleteUser")
    assert AuditEvent.objects.filter(action="robot.removed").exists()


def test_a_robot_removed_while_being_created_leaves_no_iam_user(
    world, aws, django_capture_on_commit_callbacks
):
    repo = active_repo(world)
    with django_capture_on_commit_callbacks(execute=False) as late:
        access_set(actor=world.users["member"], repo=repo, robots=[{"name": "ci"}], users=[])
    assert RobotAccount.objects.get().status == Status.PENDING
    # Removed before its task ran; then the (late) messages of the creation and the sync.
    with converging(django_capture_on_commit_callbacks):
        access_set(actor=world.users["member"], repo=repo, robots=[], users=[])
        for send in late:
            send()
    assert not RobotAccount.objects.exists()
    assert iam_users() == set()
