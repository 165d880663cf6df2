"""The permission matrix of the access views (MANAGE ACCESS, the polled access list,
robots' credentials, retries), in both repository-management modes (see tests/matrix.py).
"members": every member is a repo manager; "admins": only project and hub admins are."""

from docker_repos.models import DockerRepo, RepoAccess
from hub.choices import Status
from projects.choices import RepoManagement
from projects.models import Project, Service
from tests.access_helpers import fake_active_repo, fake_identity, fake_robot
from tests.matrix import (
    ADMIN_ACTION,
    ADMIN_PAGE,
    DONE,
    FORBIDDEN,
    NOT_FOUND,
    NOWHERE,
    READ,
    REFUSED,
    Case,
    Outcome,
    check,
    expect,
    parametrize,
)

MEMBERS, ADMINS = RepoManagement.MEMBERS, RepoManagement.ADMINS

MANAGE = {MEMBERS: ADMIN_ACTION | {"member": DONE}, ADMINS: ADMIN_ACTION}
MANAGER_PAGE = {MEMBERS: READ, ADMINS: ADMIN_PAGE}


# Managers only, and the answer is `outcome` (nothing changes unless it says so).
def managers(mode: str, outcome: Outcome) -> dict[str, Outcome]:
    member = outcome if mode == MEMBERS else FORBIDDEN
    return expect(
        non_member=NOT_FOUND,
        member=member,
        project_admin=outcome,
        other_admin=NOT_FOUND,
        hub_admin=outcome,
    )


# The reveal is audited, then redirected to the page that shows the secret once.
REVEALED = DONE
INVALID = Outcome(400)
CONFLICT = Outcome(409)
# Another project's objects through acp's URL do not exist; members who may not act in
# acp get their 403 before anything is looked up.
ELSEWHERE = {MEMBERS: NOWHERE, ADMINS: NOWHERE | {"member": FORBIDDEN}}


def set_mode(world, mode: str) -> None:
    Project.objects.filter(pk=world.project.pk).update(repo_management=mode)
    world.project.refresh_from_db()


def repo_kwargs(mode: str, status: str = Status.ACTIVE):
    def kwargs(world, user):
        set_mode(world, mode)
        repo = fake_active_repo(world)
        if status != Status.ACTIVE:
            DockerRepo.objects.filter(pk=repo.pk).update(status=status)
        return {"shortname": "acp", "repo_id": repo.pk}

    return kwargs


def robot_kwargs(mode: str, status: str = Status.ACTIVE):
    def kwargs(world, user):
        set_mode(world, mode)
        repo = fake_active_repo(world)
        robot = fake_robot(repo, status=status)
        if status == Status.FAILED:
            robot.status_detail = "IAM said no"
            robot.save()
        return {"shortname": "acp", "repo_id": repo.pk, "robot_id": robot.pk}

    return kwargs


def access_kwargs(mode: str, status: str):
    def kwargs(world, user):
        set_mode(world, mode)
        repo = fake_active_repo(world)
        fake_identity(world.users["member"])
        access = RepoAccess.objects.create(repo=repo, user=world.users["member"], status=status)
        return {"shortname": "acp", "repo_id": repo.pk, "access_id": access.pk}

    return kwargs


def others_robot_via_acp(mode: str):
    def kwargs(world, user):
        set_mode(world, mode)
        service = Service.objects.create(project=world.other, name="other-app")
        repo = DockerRepo.objects.create(
            project=world.other, service=service, name="web", status=Status.ACTIVE
        )
        robot = fake_robot(repo)
        acp_repo = fake_active_repo(world)
        return {"shortname": "acp", "repo_id": acp_repo.pk, "robot_id": robot.pk}

    return kwargs


def another_repos_robot(mode: str):
    """A robot of acp's repository `api`, addressed through acp's repository `web`."""

    def kwargs(world, user):
        set_mode(world, mode)
        web, api = fake_active_repo(world, "web"), fake_active_repo(world, "api")
        return {"shortname": "acp", "repo_id": web.pk, "robot_id": fake_robot(api).pk}

    return kwargs


SAVE = {"new_robots": "drone-ci", "pull": ["member"], "push": []}


def cases_for(mode: str) -> list[Case]:
    label = f"{mode} mode"
    return [
        Case("docker_repos:access", MANAGER_PAGE[mode], kwargs=repo_kwargs(mode), label=label),
        Case(
            "docker_repos:access",
            MANAGE[mode],
            kwargs=repo_kwargs(mode),
            method="post",
            data=SAVE,
            label=label,
        ),
        Case(
            "docker_repos:access",
            managers(mode, INVALID),
            kwargs=repo_kwargs(mode),
            method="post",
            data={"new_robots": "Bad_Name"},
            label=f"{label}, invalid",
        ),
        Case(
            "docker_repos:access",
            managers(mode, INVALID),
            kwargs=repo_kwargs(mode),
            method="post",
            data={"pull": ["outsider"]},
            label=f"{label}, not a member",
        ),
        Case(
            "docker_repos:access",
            managers(mode, CONFLICT),
            kwargs=repo_kwargs(mode, Status.PENDING),
            method="post",
            data=SAVE,
            label=f"{label}, repository pending",
        ),
        Case("docker_repos:access-fragment", READ, kwargs=repo_kwargs(mode), label=label),
        Case(
            "docker_repos:access-retry",
            MANAGE[mode],
            kwargs=access_kwargs(mode, Status.FAILED),
            method="post",
            label=label,
        ),
        Case(
            "docker_repos:access-retry",
            managers(mode, REFUSED),
            kwargs=access_kwargs(mode, Status.ACTIVE),
            method="post",
            label=f"{label}, active",
        ),
        Case("docker_repos:robot", MANAGER_PAGE[mode], kwargs=robot_kwargs(mode), label=label),
        Case(
            "docker_repos:robot-reveal",
            managers(mode, REVEALED),
            kwargs=robot_kwargs(mode),
            method="post",
            label=label,
        ),
        Case(
            "docker_repos:robot-reveal",
            managers(mode, REFUSED),
            kwargs=robot_kwargs(mode, Status.PENDING),
            method="post",
            label=f"{label}, pending",
        ),
        # The one-time page: nothing revealed just before, so it says so (and changes
        # nothing: no reveal is recorded by opening it).
        Case(
            "docker_repos:robot-secret", MANAGER_PAGE[mode], kwargs=robot_kwargs(mode), label=label
        ),
        Case(
            "docker_repos:robot-secret",
            ELSEWHERE[mode],
            kwargs=others_robot_via_acp(mode),
            label=f"{label}, another project's robot",
        ),
        Case(
            "docker_repos:robot-rotate",
            MANAGE[mode],
            kwargs=robot_kwargs(mode),
            method="post",
            label=label,
        ),
        Case(
            "docker_repos:robot-rotate",
            managers(mode, REFUSED),
            kwargs=robot_kwargs(mode, Status.FAILED),
            method="post",
            label=f"{label}, failed",
        ),
        Case(
            "docker_repos:robot-retry",
            MANAGE[mode],
            kwargs=robot_kwargs(mode, Status.FAILED),
            method="post",
            label=label,
        ),
        Case(
            "docker_repos:robot-retry",
            managers(mode, REFUSED),
            kwargs=robot_kwargs(mode),
            method="post",
            label=f"{label}, active",
        ),
        # Someone else's robot is not there, whoever asks.
        Case(
            "docker_repos:robot",
            ELSEWHERE[mode],
            kwargs=others_robot_via_acp(mode),
            label=f"{label}, another project's robot",
        ),
        Case(
            "docker_repos:robot-reveal",
            ELSEWHERE[mode],
            kwargs=others_robot_via_acp(mode),
            method="post",
            label=f"{label}, another project's robot",
        ),
        Case(
            "docker_repos:robot-reveal",
            ELSEWHERE[mode],
            kwargs=another_repos_robot(mode),
            method="post",
            label=f"{label}, another repository's robot",
        ),
        Case(
            "docker_repos:robot-rotate",
            ELSEWHERE[mode],
            kwargs=others_robot_via_acp(mode),
            method="post",
            label=f"{label}, another project's robot",
        ),
    ]


CASES = (
    cases_for(MEMBERS)
    + cases_for(ADMINS)
    + [
        # acp's robot through other's URL: not there, other's admin included.
        Case(
            "docker_repos:robot-reveal",
            NOWHERE,
            method="post",
            kwargs=lambda world, user: {**robot_kwargs(MEMBERS)(world, user), "shortname": "other"},
            label="acp's robot through other's URL",
        ),
    ]
)


@parametrize(CASES)
def test_permission_matrix(case, role, client, world):
    check(case, role, client, world)
