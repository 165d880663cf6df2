"""The user guide, driven through the REST API alone, with every task run as the worker
would (Celery eager, after each request commits) and AWS in-process (moto): after each
step the result is checked in ECR and IAM."""

import json
from contextlib import contextmanager

import pytest

from hub.aws import client as aws_client
from hub.celery import app

from .support import API, client_for


@pytest.fixture
def worker(django_capture_on_commit_callbacks):
    """`with worker():` around a request runs the tasks it enqueued, as a worker would
    once the request commits (Celery eager: a task's own follow-ups run too)."""

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True

    @contextmanager
    def run():
        with django_capture_on_commit_callbacks(execute=True):
            yield

    yield run
    app.conf.task_always_eager = previous


def ok(response, status: int) -> dict:
    assert response.status_code == status, response.content
    return response.json() if response.content else {}


def wait_for(read, done, *, attempts: int = 5):
    """Poll like a client would until `done(body)`; the tasks already ran, so the first
    read should do."""
    for _ in range(attempts):
        body = read()
        if done(body):
            return body
    raise AssertionError(f"never reached the expected state: {body}")


def policy_principals(repo_name: str) -> dict[str, set[str]]:
    """{"pull": ARNs, "push": ARNs} of the repository policy in ECR (none: no policy)."""
    ecr = aws_client("ecr")
    grants = {"pull": set(), "push": set()}
    try:
        document = json.loads(ecr.get_repository_policy(repositoryName=repo_name)["policyText"])
    except ecr.exceptions.RepositoryPolicyNotFoundException:
        return grants
    for statement in document["Statement"]:
        principals = statement["Principal"]["AWS"]
        principals = {principals} if isinstance(principals, str) else set(principals)
        actions = (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        kind = "push" if any("PutImage" in a for a in actions) else "pull"
        grants[kind] |= principals
    return grants


def iam_keys(username: str) -> list[str]:
    keys = aws_client("iam").list_access_keys(UserName=username)["AccessKeyMetadata"]
    return [key["AccessKeyId"] for key in keys]


def iam_user_arn(username: str) -> str:
    return aws_client("iam").get_user(UserName=username)["User"]["Arn"]


def iam_users() -> set[str]:
    return {u["UserName"] for u in aws_client("iam").list_users()["Users"]}


def test_the_user_guide_through_the_api(world, aws, worker):
    hub_admin = client_for(world.users["hub_admin"])
    admin = client_for(world.users["project_admin"])  # padmin
    member = client_for(world.users["member"])
    outsider = client_for(world.users["non_member"])  # joins the project below
    ecr = aws_client("ecr")

    # A hub admin creates the project with its first admin; the admin adds two people
    # and a service.
    ok(
        hub_admin.post(
            f"{API}projects/",
            {"shortname": "shop", "name": "Shop", "admin": "padmin"},
            format="json",
        ),
        201,
    )
    project = f"{API}projects/shop/"
    ok(admin.post(f"{project}members/", {"username": "member"}, format="json"), 201)
    ok(admin.post(f"{project}members/", {"username": "outsider"}, format="json"), 201)
    service = ok(admin.post(f"{project}services/", {"name": "storefront"}, format="json"), 201)

    # Any member requests a repository; it becomes active once ECR has it.
    with worker():
        repo = ok(
            member.post(
                f"{project}docker-repos/",
                {"service": service["id"], "name": "web-app", "keep_last_images": 10},
                format="json",
            ),
            201,
        )
    assert repo["status"] == "pending"
    repo_url = f"{API}docker-repos/{repo['id']}/"
    repo = wait_for(lambda: ok(member.get(repo_url), 200), lambda r: r["status"] == "active")
    [described] = ecr.describe_repositories(repositoryNames=["shop/web-app"])["repositories"]
    assert repo["uri"] == described["repositoryUri"]
    assert repo["uri"].endswith(".amazonaws.com/shop/web-app")
    tags = {
        t["Key"]: t["Value"]
        for t in ecr.list_tags_for_resource(resourceArn=described["repositoryArn"])["tags"]
    }
    assert tags["hub-repo-id"] == str(repo["id"]) and tags["hub-project"] == "shop"
    lifecycle = json.loads(
        ecr.get_lifecycle_policy(repositoryName="shop/web-app")["lifecyclePolicyText"]
    )
    assert lifecycle["rules"][0]["selection"]["countNumber"] == 10
    assert ok(member.get(f"{repo_url}images/"), 200)["results"] == []

    # Access: a robot for CI and two people, one of whom may push.
    with worker():
        access = ok(
            member.put(
                f"{repo_url}access/",
                {
                    "robots": [{"name": "drone-ci"}],
                    "users": [
                        {"username": "member", "writable": True},
                        {"username": "outsider", "writable": False},
                    ],
                },
                format="json",
            ),
            202,
        )
    assert {r["status"] for r in access["robots"]} | {u["status"] for u in access["users"]} == {
        "pending"
    }
    access = wait_for(
        lambda: ok(member.get(f"{repo_url}access/"), 200),
        lambda a: all(e["status"] == "active" for e in [*a["robots"], *a["users"]]),
    )
    [robot] = access["robots"]
    assert robot["iam_username"] == "hub-robot-shop-web-app-drone-ci"
    assert {(u["username"], u["writable"]) for u in access["users"]} == {
        ("member", True),
        ("outsider", False),
    }
    assert {robot["iam_username"], "hub-user-member", "hub-user-outsider"} <= iam_users()
    robot_arn, member_arn, outsider_arn = (
        iam_user_arn(robot["iam_username"]),
        iam_user_arn("hub-user-member"),
        iam_user_arn("hub-user-outsider"),
    )
    grants = policy_principals("shop/web-app")
    assert {robot_arn, member_arn} <= grants["push"]
    assert outsider_arn in grants["pull"] and outsider_arn not in grants["push"]

    # The robot's credentials (repo managers) and each person's own.
    robot_url = f"{repo_url}robots/{robot['id']}/"
    robot_credentials = ok(member.get(f"{robot_url}credentials/"), 200)
    assert robot_credentials["access_key_id"] == robot["access_key_id"]
    assert iam_keys(robot["iam_username"]) == [robot_credentials["access_key_id"]]
    assert robot_credentials["secret_access_key"]
    for person, username in ((member, "member"), (outsider, "outsider")):
        identity = ok(person.get(f"{API}me/identities/ecr/"), 200)
        assert identity["status"] == "active"
        assert identity["iam_username"] == f"hub-user-{username}"
        assert identity["registry"] == repo["uri"].split("/", 1)[0]
        credentials = ok(person.get(f"{API}me/identities/ecr/credentials/"), 200)
        assert iam_keys(f"hub-user-{username}") == [credentials["access_key_id"]]
        assert credentials["secret_access_key"]
        assert credentials["registry"] == identity["registry"]

    # Rotate: the robot's key and a person's key are replaced in IAM.
    with worker():
        ok(member.post(f"{robot_url}rotate/"), 202)
    rotated = ok(member.get(f"{robot_url}credentials/"), 200)
    assert rotated["access_key_id"] != robot_credentials["access_key_id"]
    assert iam_keys(robot["iam_username"]) == [rotated["access_key_id"]]
    before = ok(member.get(f"{API}me/identities/ecr/credentials/"), 200)
    with worker():
        ok(member.post(f"{API}me/identities/ecr/rotate/"), 202)
    wait_for(
        lambda: ok(member.get(f"{API}me/identities/ecr/"), 200), lambda i: i["status"] == "active"
    )
    after = ok(member.get(f"{API}me/identities/ecr/credentials/"), 200)
    assert after["access_key_id"] != before["access_key_id"]
    assert iam_keys("hub-user-member") == [after["access_key_id"]]

    # Remove a person: the whole desired state without them.
    with worker():
        ok(
            member.put(
                f"{repo_url}access/",
                {
                    "robots": [{"name": "drone-ci"}],
                    "users": [{"username": "member", "writable": True}],
                },
                format="json",
            ),
            202,
        )
    access = wait_for(
        lambda: ok(member.get(f"{repo_url}access/"), 200),
        lambda a: [u["username"] for u in a["users"]] == ["member"],
    )
    grants = policy_principals("shop/web-app")
    assert outsider_arn not in grants["pull"] | grants["push"]
    assert {robot_arn, member_arn} <= grants["push"]

    # Delete the repository: it and its robot go from AWS, then the API answers 404.
    with worker():
        deleting = ok(member.delete(repo_url), 202)
    assert deleting["status"] == "deleting"
    assert member.get(repo_url).status_code == 404
    assert ecr.describe_repositories()["repositories"] == []
    assert robot["iam_username"] not in iam_users()
    assert "hub-user-member" in iam_users()  # a person's identity serves every project


def test_removing_a_member_from_the_project_removes_their_access(world, aws, worker):
    """DELETE /members/{username}/: that person's access to every repository goes."""
    admin = client_for(world.users["project_admin"])
    with worker():
        repo = ok(
            admin.post(
                f"{API}projects/acp/docker-repos/",
                {"service": world.service.pk, "name": "web"},
                format="json",
            ),
            201,
        )
    url = f"{API}docker-repos/{repo['id']}/access/"
    with worker():
        ok(
            admin.put(
                url,
                {"robots": [], "users": [{"username": "member", "writable": True}]},
                format="json",
            ),
            202,
        )
    member_arn = iam_user_arn("hub-user-member")
    assert member_arn in policy_principals("acp/web")["push"]
    with worker():
        ok(admin.delete(f"{API}projects/acp/members/member/"), 204)
    assert ok(admin.get(url), 200)["users"] == []
    grants = policy_principals("acp/web")
    assert member_arn not in grants["pull"] | grants["push"]
