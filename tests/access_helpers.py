"""Helpers of the access and identity tests (robots, people, Connected Identities)."""

import json
from contextlib import contextmanager

import boto3
from django.conf import settings

from docker_repos import services
from docker_repos.access import access_set
from docker_repos.models import DockerRepo, RepoAccess, RobotAccount
from hub.celery import app
from hub.choices import Status
from hub.crypto import encrypt
from identities.models import EcrIdentity, identity_iam_username

ACCOUNT = "123456789012"  # moto's


def own_client(service: str):
    """A client of the test's own session: sees moto's state, none of the hub's handlers."""
    return boto3.session.Session().client(service, region_name=settings.AWS_DEFAULT_REGION)


@contextmanager
def converging(capture):
    """Everything enqueued inside runs at once, in this process, tasks enqueued by tasks
    included (Celery's eager mode + the on-commit callbacks of the test's transaction).
    `capture` is pytest-django's django_capture_on_commit_callbacks fixture."""

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        with capture(execute=True):
            yield
    finally:
        app.conf.task_always_eager = previous


def send_enqueued(capture, callbacks) -> None:
    """Send now what a service enqueued earlier (the on-commit callbacks of a capture with
    execute=False) and run it, with whatever it enqueues in turn, as converging() does:
    the worker picking the messages up after the test looked at the state in between."""
    with converging(capture):
        for send in callbacks:
            send()


def active_repo(world, name: str = "web", *, actor: str = "member") -> DockerRepo:
    """A repository provisioned in moto (the `aws` fixture)."""
    repo = services.repo_request(
        actor=world.users[actor], project=world.project, service=world.service, name=name
    )
    services.repo_provision(repo.pk)
    repo.refresh_from_db()
    assert repo.status == Status.ACTIVE, repo.status_detail
    return repo


def provisioned_robot(world, capture, *, actor: str, name: str = "drone-ci") -> RobotAccount:
    """A robot account of an active repository, created through the access list by
    `actor` and converged in moto (the `aws` fixture); `capture` as in converging()."""
    repo = active_repo(world)
    with converging(capture):
        access_set(actor=world.users[actor], repo=repo, robots=[{"name": name}], users=[])
    robot = RobotAccount.objects.select_related("repo__project").get(repo=repo, name=name)
    assert robot.status == Status.ACTIVE, robot.status_detail
    return robot


def fake_active_repo(world, name: str = "web") -> DockerRepo:
    """An active repository in the database only (for pages that call no AWS)."""
    return DockerRepo.objects.create(
        project=world.project,
        service=world.service,
        name=name,
        status=Status.ACTIVE,
        uri=f"{ACCOUNT}.dkr.ecr.eu-west-2.amazonaws.com/acp/{name}",
        arn=f"arn:aws:ecr:eu-west-2:{ACCOUNT}:repository/acp/{name}",
    )


FAKE_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYFAKESECRET"


def fake_robot(
    repo: DockerRepo, name: str = "ci", *, status: str = Status.ACTIVE, secret: str = FAKE_SECRET
) -> RobotAccount:
    """A robot with credentials in the database only."""
    iam_username = f"hub-robot-acp-{repo.name}-{name}"
    return RobotAccount.objects.create(
        repo=repo,
        name=name,
        status=status,
        iam_username=iam_username,
        iam_arn=f"arn:aws:iam::{ACCOUNT}:user/platform-hub/{iam_username}",
        access_key_id="AKIAFAKEROBOT" + name.upper().replace("-", "")[:7].ljust(7, "X"),
        secret_access_key_encrypted=encrypt(secret),
    )


def fake_identity(
    user, *, status: str = Status.ACTIVE, secret: str = "sEcReTiDeNtItYkEy0123456789abcdefGHIJKLm"
) -> EcrIdentity:
    name = identity_iam_username(user.username)
    return EcrIdentity.objects.create(
        user=user,
        status=status,
        iam_username=name,
        iam_arn=f"arn:aws:iam::{ACCOUNT}:user/platform-hub/{name}",
        access_key_id="AKIAFAKEPERSON" + str(user.pk).rjust(6, "0"),
        secret_access_key_encrypted=encrypt(secret),
    )


def repository_policy(name: str) -> dict | None:
    ecr = own_client("ecr")
    try:
        return json.loads(ecr.get_repository_policy(repositoryName=name)["policyText"])
    except ecr.exceptions.RepositoryPolicyNotFoundException:
        return None


def policy_grants(name: str) -> dict[str, set[str]]:
    """{"pull": ARNs that may only pull, "push": ARNs that may pull and push} in ECR."""
    grants = {"pull": set(), "push": set()}
    for statement in (repository_policy(name) or {}).get("Statement", []):
        principals = statement["Principal"]["AWS"]
        principals = {principals} if isinstance(principals, str) else set(principals)
        kind = "push" if "ecr:PutImage" in statement["Action"] else "pull"
        grants[kind] |= principals
    return grants


def db_grants(repo: DockerRepo) -> dict[str, set[str]]:
    """What the database says ECR must grant once everything has converged: the active
    entries (and the cluster principals)."""
    grants = {"pull": set(settings.HUB_ECR_PULL_PRINCIPALS), "push": set()}
    for access in RepoAccess.objects.filter(repo=repo, status=Status.ACTIVE):
        grants["push" if access.writable else "pull"].add(access.user.ecr_identity.iam_arn)
    for robot in RobotAccount.objects.filter(repo=repo, status=Status.ACTIVE):
        grants["push"].add(robot.iam_arn)
    grants["pull"] -= grants["push"]
    return grants


def iam_users() -> set[str]:
    return {
        u["UserName"] for u in own_client("iam").list_users(PathPrefix="/platform-hub/")["Users"]
    }


def iam_keys(name: str) -> list[str]:
    return [
        k["AccessKeyId"]
        for k in own_client("iam").list_access_keys(UserName=name)["AccessKeyMetadata"]
    ]
