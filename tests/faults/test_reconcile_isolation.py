"""Figure 7: one object AWS keeps refusing does not stall the reconciler.

50 active repositories; one's SetRepositoryPolicy always fails (as on real AWS for a
policy naming a deleted IAM user), 3 have drift, and a robot's IAM user is deleted behind
the hub's back. One pass repairs everything else and reports exactly the one."""

import json

from docker_repos.access import access_set
from docker_repos.models import RobotAccount
from docker_repos.reconcile import ReconcileError, reconcile
from hub.choices import Status
from hub.models import AuditEvent
from tests.access_helpers import (
    active_repo,
    converging,
    db_grants,
    iam_keys,
    iam_users,
    own_client,
    policy_grants,
    repository_policy,
    send_enqueued,
)
from tests.docker_repos.support import aws_error

from .support import NODE_ROLE

REPOS = [f"app-{n:02}" for n in range(50)]
REFUSED = "acp/app-03"  # early in the pass: everything after it must still be repaired
SETTINGS_EDITED, LIFECYCLE_EDITED, POLICY_EDITED = "acp/app-10", "acp/app-20", "acp/app-30"
ROBOT_REPO = "app-40"  # its robot's IAM user is deleted outside the hub
REJECTION = (
    "Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Invalid "
    "repository policy provided'"
)

SNEAKY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "Sneaky",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::999999999999:root"},
            "Action": ["ecr:*"],
        }
    ],
}
LIFECYCLE = {
    "rules": [
        {
            "rulePriority": 1,
            "description": "someone's",
            "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 1},
            "action": {"type": "expire"},
        }
    ]
}


def delete_iam_user(name: str) -> None:
    iam = own_client("iam")
    for key in iam_keys(name):
        iam.delete_access_key(UserName=name, AccessKeyId=key)
    iam.delete_user_policy(UserName=name, PolicyName="platform-hub-ecr-login")
    iam.delete_user(UserName=name)


def test_one_refused_policy_does_not_stop_the_other_repairs(
    world, aws, ecr, boto_events, settings, django_capture_on_commit_callbacks
):
    """Figure: 50 active repositories; behind the hub's back acp/app-03's policy is edited
    and every SetRepositoryPolicy of it is refused, app-10's settings, app-20's lifecycle
    policy and app-30's policy are edited, and app-40's robot's IAM user is deleted ->
    one pass: 50 checked, exactly 1 error (acp/app-03, reported with AWS's reason and one
    `reconcile.error` audit event), the 3 drifts repaired, the robot's recreation queued
    and the robot left out of app-40's policy (AWS would refuse an ARN that does not
    exist) -> its task recreates the user and writes app-40's policy naming it again ->
    the next pass: 0 changes, the same 1 error."""
    settings.HUB_ECR_PULL_PRINCIPALS = [NODE_ROLE]
    repos = {f"acp/{name}": active_repo(world, name) for name in REPOS}
    robot_repo = repos[f"acp/{ROBOT_REPO}"]
    with converging(django_capture_on_commit_callbacks):
        access_set(
            actor=world.users["project_admin"],
            repo=robot_repo,
            robots=[{"name": "ci"}],
            users=[{"username": "member", "writable": False}],
        )
    robot = RobotAccount.objects.get()
    assert robot.status == Status.ACTIVE
    assert robot.iam_arn in policy_grants(f"acp/{ROBOT_REPO}")["push"]

    # Behind the hub's back.
    for name in (REFUSED, POLICY_EDITED):
        ecr.set_repository_policy(repositoryName=name, policyText=json.dumps(SNEAKY))
    ecr.put_image_tag_mutability(repositoryName=SETTINGS_EDITED, imageTagMutability="IMMUTABLE")
    ecr.put_lifecycle_policy(
        repositoryName=LIFECYCLE_EDITED, lifecyclePolicyText=json.dumps(LIFECYCLE)
    )
    delete_iam_user(robot.iam_username)
    written = []

    def refuse_one(params, **kwargs):
        name = json.loads(params["body"])["repositoryName"]  # the request as sent
        written.append(name)
        if name == REFUSED:
            return aws_error("InvalidParameterException", message=REJECTION)
        return None

    boto_events.register("before-call.ecr.SetRepositoryPolicy", refuse_one)

    with django_capture_on_commit_callbacks(execute=False) as queued:
        report = reconcile()

    assert report.checked == len(REPOS)
    assert [error.object for error in report.errors] == [REFUSED]
    [error] = report.errors
    assert error.reason.startswith("repository policy: ECR does not accept the repository ")
    assert error.reason.endswith(f"while trying to write the repository policy of {REFUSED}")
    assert f"error: {error}" in report.lines()
    assert report.lines()[-1] == "50 active repositories checked, 5 changes, 1 error."
    assert sorted(report.repaired) == sorted(
        [
            f"{robot.iam_username}: IAM user missing in IAM, new key",
            f"{SETTINGS_EDITED}: settings",
            f"{LIFECYCLE_EDITED}: lifecycle policy",
            f"{POLICY_EDITED}: repository policy",
            f"acp/{ROBOT_REPO}: repository policy",
        ]
    )  # written without the deleted robot
    assert (report.recreated, report.requeued) == ([], [])
    assert sorted(written) == sorted([REFUSED, POLICY_EDITED, f"acp/{ROBOT_REPO}"])
    [event] = AuditEvent.objects.filter(action="reconcile.error")
    assert (event.target_type, event.target_id, event.project_id) == (
        "dockerrepo",
        str(repos[REFUSED].pk),
        world.project.pk,
    )
    assert event.detail == {"object": REFUSED, "reason": error.reason}

    # Repaired: the 3 drifts; the robot left out until it exists, the person kept.
    assert (
        ecr.describe_repositories(repositoryNames=[SETTINGS_EDITED])["repositories"][0][
            "imageTagMutability"
        ]
        == "MUTABLE"
    )
    assert not _lifecycle(ecr, LIFECYCLE_EDITED)
    assert policy_grants(POLICY_EDITED) == db_grants(repos[POLICY_EDITED])
    grants = policy_grants(f"acp/{ROBOT_REPO}")
    assert robot.iam_arn not in grants["push"] | grants["pull"]
    assert world.users["member"].ecr_identity.iam_arn in grants["pull"]
    assert repository_policy(REFUSED) == SNEAKY  # AWS refused every rewrite
    robot.refresh_from_db()
    assert (robot.status, robot.rotation_requested) == (Status.PENDING, True)
    assert robot.iam_username not in iam_users()

    # The queued recreation runs: the new IAM user is named in app-40's policy again.
    assert len(queued) == 1
    send_enqueued(django_capture_on_commit_callbacks, queued)
    after = RobotAccount.objects.get()
    assert after.status == Status.ACTIVE, after.status_detail
    assert iam_keys(after.iam_username) == [after.access_key_id] != [robot.access_key_id]
    assert after.iam_arn in policy_grants(f"acp/{ROBOT_REPO}")["push"]
    assert policy_grants(f"acp/{ROBOT_REPO}") == db_grants(robot_repo)

    again = reconcile()
    assert (again.checked, again.changes) == (len(REPOS), 0)
    assert again.errors == [ReconcileError(REFUSED, error.reason)]


def _lifecycle(ecr, name: str):
    try:
        return ecr.get_lifecycle_policy(repositoryName=name)["lifecyclePolicyText"]
    except ecr.exceptions.LifecyclePolicyNotFoundException:
        return None
