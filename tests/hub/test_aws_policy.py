"""The hub's IAM documents under IAM's own rules, which moto does not enforce.

- The hub's policy grants exactly what the gateways call: a test fails when a gateway calls
  an action the policy lacks, or the policy grants one no code calls.
- parliament lints every document (aws/*.json and what the hub renders); each finding it
  still reports is written down here with the reason.
- moto evaluates neither resources nor conditions, so the permissions boundary rules
  (the hub can create and write policies only on users that carry its boundary, and never
  remove one) are checked by evaluating the policy's statements for the escalation paths.
"""

import ast
import fnmatch
import json
from collections import Counter
from pathlib import Path

import botocore.session
import pytest
from botocore import xform_name
from parliament import analyze_policy_string

from docker_repos.policy import render_access_policy, render_lifecycle_policy
from hub import iam_policies
from identities.iam import LOGIN_POLICY

ROOT = Path(__file__).resolve().parent.parent.parent
ACCOUNT = "123456789012"
REGION = "eu-west-2"
BOUNDARY = f"arn:aws:iam::{ACCOUNT}:policy/platform-hub-user-boundary"
HUB_USERS = f"arn:aws:iam::{ACCOUNT}:user/platform-hub/"

# module -> the AWS service whose client it calls (hub/aws.py only builds clients).
GATEWAYS = {
    "docker_repos/ecr.py": "ecr",
    "identities/iam.py": "iam",
    "identities/sts.py": "sts",
    "hub/aws.py": None,
}
# Permissions AWS checks for a call besides its own action.
IMPLIED = {
    "ecr:CreateRepository": {"ecr:TagResource"},  # create_repository(tags=...)
    "iam:CreateUser": {"iam:TagUser"},  # create_user(Tags=...)
}
# Calls that need no permission at all.
NEEDS_NO_PERMISSION = {
    "sts:GetCallerIdentity",  # "No permissions are required to perform this operation."
}


@pytest.fixture(scope="module")
def policy() -> dict:
    return iam_policies.hub_policy(region=REGION, boundary_arn=BOUNDARY)


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def _operations(service: str) -> dict[str, str]:
    """snake_case client method -> API operation name, from botocore's service model."""
    model = botocore.session.get_session().get_service_model(service)
    return {xform_name(op): op for op in model.operation_names}


def _called_actions(module: str, service: str | None, source: str | None = None) -> set[str]:
    """Every `<anything>.<operation>(` and `get_paginator("<operation>")` of the module."""
    tree = ast.parse(source if source is not None else (ROOT / module).read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            names.add(node.func.attr)
            if node.func.attr == "get_paginator" and node.args:
                names.add(ast.literal_eval(node.args[0]))
    actions = set()
    for candidate in [service] if service else ["ecr", "iam", "sts"]:
        operations = _operations(candidate)
        actions |= {f"{candidate}:{operations[n]}" for n in names if n in operations}
    return actions


def _granted(policy: dict) -> set[str]:
    return {
        action
        for statement in policy["Statement"]
        if statement["Effect"] == "Allow"
        for action in _as_list(statement["Action"])
    }


def test_only_the_gateways_call_aws():
    for path in [
        *ROOT.glob("hub/**/*.py"),
        *ROOT.glob("docker_repos/**/*.py"),
        *ROOT.glob("identities/**/*.py"),
        *ROOT.glob("projects/**/*.py"),
    ]:
        relative = str(path.relative_to(ROOT))
        if relative in GATEWAYS or relative == "hub/awsstandin.py":  # the stand-in itself
            continue
        assert "import boto3" not in path.read_text(), f"{relative} builds its own client"


def test_hub_policy_grants_exactly_what_the_gateways_call(policy):
    called = set()
    for module, service in GATEWAYS.items():
        called |= _called_actions(module, service)
    assert _called_actions("hub/aws.py", None) == set()
    needed = called - NEEDS_NO_PERMISSION
    for action in list(needed):
        needed |= IMPLIED.get(action, set())
    granted = _granted(policy)
    assert not needed - granted, f"called but not granted: {sorted(needed - granted)}"
    assert not granted - needed, f"granted but never called: {sorted(granted - needed)}"


def test_the_scan_sees_a_new_call():
    """The scan is what keeps the policy exact: a new call shows up in it."""
    source = (ROOT / "identities/iam.py").read_text()
    source += "\n\ndef evil():\n    _iam().get_paginator('list_roles')\n    _iam().create_role()\n"
    assert {"iam:CreateRole", "iam:ListRoles"} <= _called_actions(
        "identities/iam.py", "iam", source
    )


def test_resources_come_from_configuration(settings):
    settings.AWS_DEFAULT_REGION = "eu-central-1"
    settings.HUB_IAM_PERMISSIONS_BOUNDARY = "arn:aws:iam::210987654321:policy/b/hub-boundary"
    rendered = json.dumps(iam_policies.hub_policy())
    assert "arn:aws:ecr:eu-central-1:210987654321:repository/*" in rendered
    assert "arn:aws:iam::210987654321:user/platform-hub/*" in rendered
    assert "arn:aws:iam::210987654321:policy/b/hub-boundary" in rendered
    for placeholder in ("ACCOUNT_ID", "REGION", "PARTITION", "BOUNDARY_ARN"):
        assert placeholder not in rendered


def test_hub_policy_shape(policy):
    for statement in policy["Statement"]:
        assert "NotAction" not in statement and "NotResource" not in statement
        actions, resources = _as_list(statement["Action"]), _as_list(statement["Resource"])
        for action in actions:
            assert "*" not in action, f"wildcard action {action}"
        if statement["Effect"] == "Deny":
            continue
        for action in actions:
            service, name = action.split(":")
            if service == "iam":
                # Users and their keys only: nothing on roles, groups or managed policies.
                assert "User" in name or "AccessKey" in name, action
        if resources == ["*"]:
            assert actions == ["iam:ListUsers"], (
                "ListUsers is the only action without a resource-level permission the hub needs"
            )
            continue
        for resource in resources:
            assert resource in (f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/*", f"{HUB_USERS}*"), (
                resource
            )


# --- The boundary rules, evaluated ------------------------------------------------------


def _matches(statement: dict, action: str, resource: str, boundary: str | None) -> bool:
    if not any(fnmatch.fnmatchcase(action, a) for a in _as_list(statement["Action"])):
        return False
    if not any(fnmatch.fnmatchcase(resource, r) for r in _as_list(statement["Resource"])):
        return False
    for operator, keys in statement.get("Condition", {}).items():
        assert operator in ("ArnEquals", "ArnNotEquals"), operator
        for key, wanted in keys.items():
            assert key == "iam:PermissionsBoundary", key
            # A missing key fails ArnEquals and satisfies ArnNotEquals (IAM's rule).
            equal = boundary is not None and boundary in _as_list(wanted)
            if equal != (operator == "ArnEquals"):
                return False
    return True


def allowed(policy, action, resource, boundary=None) -> bool:
    """IAM's evaluation for one identity policy: an explicit deny wins, then an allow."""
    statements = policy["Statement"]
    if any(s["Effect"] == "Deny" and _matches(s, action, resource, boundary) for s in statements):
        return False
    return any(
        s["Effect"] == "Allow" and _matches(s, action, resource, boundary) for s in statements
    )


EVIL = f"{HUB_USERS}hub-user-evil"


@pytest.mark.parametrize(
    "action, resource, boundary, expected",
    [
        # The hub's own work.
        ("iam:CreateUser", EVIL, BOUNDARY, True),
        ("iam:PutUserPolicy", EVIL, BOUNDARY, True),
        ("iam:PutUserPermissionsBoundary", EVIL, BOUNDARY, True),
        ("iam:CreateAccessKey", EVIL, None, True),
        # The escalation of the issue: an unbounded user with an admin policy.
        ("iam:CreateUser", EVIL, None, False),
        ("iam:CreateUser", EVIL, f"arn:aws:iam::{ACCOUNT}:policy/admin", False),
        ("iam:PutUserPolicy", EVIL, None, False),
        ("iam:AttachUserPolicy", EVIL, BOUNDARY, False),
        ("iam:PutUserPermissionsBoundary", EVIL, f"arn:aws:iam::{ACCOUNT}:policy/admin", False),
        ("iam:DeleteUserPermissionsBoundary", EVIL, BOUNDARY, False),
        # Outside the hub's users, or not users at all.
        ("iam:CreateUser", f"arn:aws:iam::{ACCOUNT}:user/admin", BOUNDARY, False),
        ("iam:CreateAccessKey", f"arn:aws:iam::{ACCOUNT}:user/admin", None, False),
        ("iam:CreateRole", f"arn:aws:iam::{ACCOUNT}:role/platform-hub/x", BOUNDARY, False),
        ("iam:CreatePolicyVersion", BOUNDARY, None, False),
        ("iam:AddUserToGroup", f"arn:aws:iam::{ACCOUNT}:group/admins", None, False),
        ("ecr:BatchDeleteImage", f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/a/b", None, False),
        ("ecr:CreateRepository", f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/a/b", None, False),
        ("ecr:CreateRepository", f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/a/b", None, True),
    ],
)
def test_boundary_rules(policy, action, resource, boundary, expected):
    assert allowed(policy, action, resource, boundary) is expected


def test_the_boundary_allows_only_an_ecr_login():
    boundary = iam_policies.user_boundary_policy()
    assert boundary["Statement"] == [
        {
            "Sid": "HubUsersMayOnlyLogInToEcr",
            "Effect": "Allow",
            "Action": "ecr:GetAuthorizationToken",
            "Resource": "*",
        }
    ]
    assert LOGIN_POLICY["Statement"][0]["Action"] == "ecr:GetAuthorizationToken"


# --- parliament -------------------------------------------------------------------------


def _realistic_repository_policy() -> dict:
    user = f"arn:aws:iam::{ACCOUNT}:user/platform-hub/"
    return render_access_policy(
        readers=[f"{user}hub-user-alice", f"{user}hub-user-carol"],
        writers=[f"{user}hub-user-bob"],
        robots=[f"{user}hub-robot-acp-hello-world-app-ci"],
        cluster=[f"arn:aws:iam::{ACCOUNT}:role/eks-nodes"],
    )


DOCUMENTS = {
    "aws/hub-policy.json": lambda: iam_policies.hub_policy(region=REGION, boundary_arn=BOUNDARY),
    "aws/user-boundary.json": iam_policies.user_boundary_policy,
    "login policy": lambda: LOGIN_POLICY,
    "repository policy": _realistic_repository_policy,
    "lifecycle policy": lambda: render_lifecycle_policy(keep_last_images=10),
}
DOCKER_LOGIN = ("CREDENTIALS_EXPOSURE", ("ecr:getauthorizationtoken",))
# Every finding parliament (with its community auditors) still reports, and why it stays.
WRITTEN_DOWN = {
    "aws/hub-policy.json": {
        # Creating access keys for robots and people is what the hub is for; the keys are
        # of users that carry the boundary, so they can only fetch an ECR login token.
        ("CREDENTIALS_EXPOSURE", ("iam:createaccesskey",)): "the hub's purpose",
        ("PRIVILEGE_ESCALATION", ("iam:createaccesskey",)): "bounded users only",
        # Only on users that carry exactly the boundary (ArnEquals), so whatever policy is
        # written, the user's effective permissions are at most the boundary's.
        ("PRIVILEGE_ESCALATION", ("iam:putuserpolicy",)): "ArnEquals boundary condition",
        # Managing its users and repository policies is the hub's job; all scoped to
        # user/platform-hub/* and the account's repositories in one region.
        (
            "PERMISSIONS_MANAGEMENT_ACTIONS",
            (
                "ecr:setrepositorypolicy",
                "iam:createaccesskey",
                "iam:createuser",
                "iam:deleteaccesskey",
                "iam:deleteuser",
                "iam:deleteuserpolicy",
                "iam:putuserpermissionsboundary",
                "iam:putuserpolicy",
            ),
        ): "scoped, see docs/aws.md",
    },
    # `docker login` needs ecr:GetAuthorizationToken, which has no resource-level scope.
    "aws/user-boundary.json": {DOCKER_LOGIN: "docker login"},
    "login policy": {DOCKER_LOGIN: "docker login"},
    # A repository policy is a resource policy: its resource is the repository it is set
    # on, so its statements have no Resource (ECR refuses one that has).
    "repository policy": {
        ("MALFORMED", ("Statement contains neither Resource nor NotResource",)): "resource policy"
    },
    # Not an IAM policy at all: ECR's lifecycle rules (checked by tests of the renderer).
    "lifecycle policy": {("MALFORMED", ("Policy contains an unknown element",)): "not IAM"},
}


def _findings(document: dict) -> Counter:
    found = Counter()
    for finding in analyze_policy_string(
        json.dumps(document), include_community_auditors=True
    ).findings:
        detail = finding.detail or (finding.location or {}).get("actions") or ""
        if isinstance(detail, dict):
            detail = tuple(sorted(detail.get("actions", [])))
        elif isinstance(detail, list):  # actions, or [{"action": ...}, ...]
            detail = tuple(
                sorted(
                    {item.get("action", "") if isinstance(item, dict) else item for item in detail}
                )
            )
        elif detail:
            detail = (detail,)
        else:
            detail = ()
        found[(finding.issue, detail)] += 1
    return found


@pytest.mark.parametrize("name", DOCUMENTS)
def test_parliament_reports_only_what_is_written_down(name):
    found = _findings(DOCUMENTS[name]())
    assert set(found) == set(WRITTEN_DOWN[name]), (
        f"parliament's findings on {name} changed: {dict(found)}"
    )


def test_parliament_sees_an_unscoped_grant():
    """The lint is live: the grant real IAM denies (ListUsers on a user ARN) is reported."""
    policy = iam_policies.hub_policy(region=REGION, boundary_arn=BOUNDARY)
    statement = next(s for s in policy["Statement"] if s["Sid"] == "HubListsItsIamUsers")
    statement["Resource"] = f"{HUB_USERS}*"
    assert ("RESOURCE_MISMATCH", ("iam:ListUsers",)) in _findings(policy)
