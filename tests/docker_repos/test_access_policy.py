"""The repository policy of an access list: pure functions, no database, no AWS."""

import json

import pytest
from django.contrib.auth.models import User

from docker_repos.models import RepoAccess, RobotAccount
from docker_repos.policy import (
    ECR_POLICY_MAX_CHARS,
    PULL_ACTIONS,
    PUSH_ACTIONS,
    PolicyTooLarge,
    placeholder_user_arn,
    render_access_policy,
)
from docker_repos.selectors import plan_from
from hub.choices import Status
from identities.models import EcrIdentity

ACCOUNT = "123456789012"
CLUSTER = f"arn:aws:iam::{ACCOUNT}:role/cluster-node"
ALICE = f"arn:aws:iam::{ACCOUNT}:user/platform-hub/hub-user-alice"
BOB = f"arn:aws:iam::{ACCOUNT}:user/platform-hub/hub-user-bob"
ROBOT = f"arn:aws:iam::{ACCOUNT}:user/platform-hub/hub-robot-acp-web-ci"


def grants(policy: dict | None) -> dict[str, list[str]]:
    result = {}
    for statement in (policy or {}).get("Statement", []):
        assert statement["Effect"] == "Allow"
        actions = statement["Action"]
        kind = "push" if set(PUSH_ACTIONS) <= set(actions) else "pull"
        assert set(PULL_ACTIONS) <= set(actions), "every grant includes pulling"
        result[kind] = statement["Principal"]["AWS"]
    return result


@pytest.mark.parametrize(
    ("readers", "writers", "robots", "cluster", "expected"),
    [
        ([], [], [], [], None),
        ([], [], [], [CLUSTER], {"pull": [CLUSTER]}),
        ([ALICE], [], [], [], {"pull": [ALICE]}),
        ([], [ALICE], [], [], {"push": [ALICE]}),
        ([], [], [ROBOT], [], {"push": [ROBOT]}),
        (
            [ALICE],
            [BOB],
            [ROBOT],
            [CLUSTER],
            {"pull": sorted([ALICE, CLUSTER]), "push": sorted([BOB, ROBOT])},
        ),
        ([ALICE, BOB], [], [], [CLUSTER], {"pull": sorted([ALICE, BOB, CLUSTER])}),
        ([], [ALICE, BOB], [ROBOT], [], {"push": sorted([ALICE, BOB, ROBOT])}),
        # A principal in both lists gets the wider grant, once.
        ([ALICE], [ALICE], [], [], {"push": [ALICE]}),
        ([CLUSTER], [], [], [CLUSTER], {"pull": [CLUSTER]}),
    ],
)
def test_who_may_pull_and_who_may_push(readers, writers, robots, cluster, expected):
    policy = render_access_policy(readers=readers, writers=writers, robots=robots, cluster=cluster)
    if expected is None:
        assert policy is None
        return
    assert policy["Version"] == "2012-10-17"
    assert grants(policy) == expected


def test_push_statement_allows_exactly_pull_and_push_actions():
    policy = render_access_policy(readers=[ALICE], writers=[], robots=[ROBOT], cluster=[])
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert by_sid["HubPull"]["Action"] == list(PULL_ACTIONS)
    assert by_sid["HubPullPush"]["Action"] == [*PULL_ACTIONS, *PUSH_ACTIONS]
    assert "ecr:DeleteRepository" not in json.dumps(policy)


def test_the_same_access_list_renders_the_same_document():
    a = render_access_policy(readers=[BOB, ALICE], writers=[], robots=[ROBOT], cluster=[CLUSTER])
    b = render_access_policy(readers=[ALICE, BOB], writers=[], robots=[ROBOT], cluster=[CLUSTER])
    assert json.dumps(a) == json.dumps(b)


def user_arn(n: int) -> str:
    return f"arn:aws:iam::{ACCOUNT}:user/platform-hub/hub-user-person-number-{n:04d}"


def test_a_policy_at_the_limit_is_accepted_and_one_past_it_fails_clearly():
    fits = 0
    while True:
        try:
            render_access_policy(
                readers=[user_arn(n) for n in range(fits + 1)], writers=[], robots=[], cluster=[]
            )
        except PolicyTooLarge:
            break
        fits += 1
    policy = render_access_policy(
        readers=[user_arn(n) for n in range(fits)], writers=[], robots=[], cluster=[]
    )
    assert len(json.dumps(policy, separators=(",", ":"))) <= ECR_POLICY_MAX_CHARS
    assert fits > 100, "over a hundred people fit one repository"
    with pytest.raises(PolicyTooLarge) as caught:
        render_access_policy(
            readers=[user_arn(n) for n in range(fits + 1)], writers=[], robots=[], cluster=[]
        )
    message = str(caught.value)
    assert str(ECR_POLICY_MAX_CHARS) in message and "Remove some people or robots" in message


def test_placeholder_arns_are_as_long_as_real_ones():
    assert len(placeholder_user_arn("hub-user-alice")) == len(ALICE)


# --- Which rows go in (plan_from: pure over unsaved rows) ----------------------------------


def access(pk, arn, *, writable=False, status=Status.ACTIVE, removal=False):
    user = User(pk=pk, username=f"u{pk}")
    user.ecr_identity = EcrIdentity(user=user, iam_arn=arn)  # no ARN: not created yet
    return RepoAccess(pk=pk, user=user, writable=writable, status=status, removal_requested=removal)


def robot(pk, arn, *, status=Status.ACTIVE, removal=False):
    return RobotAccount(pk=pk, name=f"r{pk}", iam_arn=arn, status=status, removal_requested=removal)


def test_only_entries_whose_iam_user_exists_go_in():
    plan = plan_from(
        [robot(1, ROBOT), robot(2, "", status=Status.PENDING)],
        [access(1, ALICE), access(2, "", status=Status.PENDING)],
        cluster=[CLUSTER],
    )
    assert plan.robots == {1: ROBOT}
    assert plan.readers == {1: ALICE}
    assert plan.cluster == (CLUSTER,)


def test_entries_on_their_way_out_are_left_out_and_listed_for_deletion():
    plan = plan_from(
        [
            robot(1, ROBOT, status=Status.REMOVING, removal=True),
            robot(2, ROBOT + "2", status=Status.FAILED, removal=True),
        ],
        [
            access(1, ALICE, status=Status.REMOVING, removal=True),
            access(2, BOB, writable=True, status=Status.PENDING),
        ],
    )
    assert plan.robots == {} and plan.readers == {}
    assert plan.writers == {2: BOB}
    assert plan.removing_robots == {1} and plan.removing_accesses == {1}
    assert grants(plan.document()) == {"push": [BOB]}


def test_a_failed_grant_keeps_what_aws_already_has():
    plan = plan_from(
        [robot(1, ROBOT, status=Status.FAILED)], [access(1, ALICE, status=Status.FAILED)]
    )
    assert plan.robots == {1: ROBOT} and plan.readers == {1: ALICE}
