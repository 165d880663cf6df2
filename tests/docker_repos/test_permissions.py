"""The permission matrix of every repository view, in both repository-management modes
(see tests/matrix.py). "members": every member is a repo manager (the guide's default);
"admins": only project and hub admins request, delete and retry."""

import pytest
from django.urls import reverse

from docker_repos.models import DockerRepo
from hub.choices import Status
from projects.choices import RepoManagement
from projects.models import Project, Service
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

# Repo managers act; in "members" mode that includes every member.
MANAGE = {MEMBERS: ADMIN_ACTION | {"member": DONE}, ADMINS: ADMIN_ACTION}
MANAGER_PAGE = {MEMBERS: READ, ADMINS: ADMIN_PAGE}
# A repo manager's request the form turns down: the page again (400), nothing changed.
INVALID = Outcome(400)
NOT_ALLOWED = Outcome(405)
TURNED_DOWN = {
    MEMBERS: expect(
        non_member=NOT_FOUND,
        member=INVALID,
        project_admin=INVALID,
        other_admin=NOT_FOUND,
        hub_admin=INVALID,
    ),
    ADMINS: expect(
        non_member=NOT_FOUND,
        member=FORBIDDEN,
        project_admin=INVALID,
        other_admin=NOT_FOUND,
        hub_admin=INVALID,
    ),
}
# A repo manager's action the service refuses (redirect with a message), nothing changed.
NOT_NOW = {
    MEMBERS: ADMIN_ACTION | {"member": REFUSED, "project_admin": REFUSED, "hub_admin": REFUSED},
    ADMINS: ADMIN_ACTION | {"project_admin": REFUSED, "hub_admin": REFUSED},
}
# Another project's repository through acp's URL does not exist; members who may not act
# in acp get their 403 before the repository is looked up.
ELSEWHERE = {MEMBERS: NOWHERE, ADMINS: NOWHERE | {"member": FORBIDDEN}}

REPO_NAME = "web-app"


def set_mode(world, mode: str) -> None:
    Project.objects.filter(pk=world.project.pk).update(repo_management=mode)
    world.project.refresh_from_db()


def acp(mode: str):
    def kwargs(world, user):
        set_mode(world, mode)
        return {"shortname": "acp"}

    return kwargs


def acp_repo(mode: str, status: str = Status.ACTIVE):
    """A repository of acp in `status` (made before the snapshot), addressed through acp."""

    def kwargs(world, user):
        set_mode(world, mode)
        repo = DockerRepo.objects.create(
            project=world.project,
            service=world.service,
            name=REPO_NAME,
            status=status,
            status_detail="AWS refused the name" if status == Status.FAILED else "",
            delete_requested=False,
            requested_by=world.users["member"],
        )
        return {"shortname": "acp", "repo_id": repo.pk}

    return kwargs


def others_repo_via(shortname: str, mode: str, status: str = Status.ACTIVE):
    """A repository of `other` addressed through `shortname`'s URL."""

    def kwargs(world, user):
        set_mode(world, mode)
        service = Service.objects.create(project=world.other, name="other-app")
        repo = DockerRepo.objects.create(
            project=world.other, service=service, name=REPO_NAME, status=status
        )
        return {"shortname": shortname, "repo_id": repo.pk}

    return kwargs


def request_data(world, user):
    return {
        "service": world.service.pk,
        "name": "new-repo",
        "description": "",
        "tag_mutability": "MUTABLE",
        "scan_on_push": "on",
    }


CONFIRM = {"confirm": f"acp/{REPO_NAME}"}


def cases_for(mode: str) -> list[Case]:
    label = f"{mode} mode"
    return [
        Case("docker_repos:project-repos", READ, kwargs=acp(mode), label=label),
        Case("docker_repos:project-repos-fragment", READ, kwargs=acp(mode), label=label),
        Case("docker_repos:request", MANAGER_PAGE[mode], kwargs=acp(mode), label=label),
        Case(
            "docker_repos:request",
            MANAGE[mode],
            kwargs=acp(mode),
            method="post",
            data=request_data,
            label=label,
        ),
        Case(
            "docker_repos:request",
            TURNED_DOWN[mode],
            kwargs=acp(mode),
            method="post",
            data=lambda world, user: request_data(world, user) | {"name": "Bad Name"},
            label=f"{label}, invalid name",
        ),
        Case("docker_repos:detail", READ, kwargs=acp_repo(mode), label=label),
        Case(
            "docker_repos:detail",
            READ,
            kwargs=acp_repo(mode, Status.PENDING),
            label=f"{label}, pending",
        ),
        Case(
            "docker_repos:status-fragment", READ, kwargs=acp_repo(mode, Status.PENDING), label=label
        ),
        Case("docker_repos:delete", MANAGER_PAGE[mode], kwargs=acp_repo(mode), label=label),
        Case(
            "docker_repos:delete",
            MANAGE[mode],
            kwargs=acp_repo(mode),
            method="post",
            data=CONFIRM,
            label=label,
        ),
        Case(
            "docker_repos:delete",
            MANAGE[mode],
            kwargs=acp_repo(mode, Status.FAILED),
            method="post",
            data=CONFIRM,
            label=f"{label}, failed",
        ),
        Case(
            "docker_repos:delete",
            TURNED_DOWN[mode],
            kwargs=acp_repo(mode),
            method="post",
            data={"confirm": REPO_NAME},
            label=f"{label}, not confirmed",
        ),
        Case(
            "docker_repos:delete",
            TURNED_DOWN[mode],
            kwargs=acp_repo(mode, Status.PENDING),
            method="post",
            data=CONFIRM,
            label=f"{label}, still pending",
        ),
        Case(
            "docker_repos:retry",
            MANAGE[mode],
            kwargs=acp_repo(mode, Status.FAILED),
            method="post",
            label=label,
        ),
        Case(
            "docker_repos:retry",
            NOT_NOW[mode],
            kwargs=acp_repo(mode),
            method="post",
            label=f"{label}, active",
        ),
        Case(
            "docker_repos:detail",
            NOWHERE,
            kwargs=others_repo_via("acp", mode),
            label=f"{label}, another project's repository",
        ),
        Case(
            "docker_repos:status-fragment",
            NOWHERE,
            kwargs=others_repo_via("acp", mode),
            label=f"{label}, another project's repository",
        ),
        Case(
            "docker_repos:delete",
            ELSEWHERE[mode],
            kwargs=others_repo_via("acp", mode),
            method="post",
            data={"confirm": f"other/{REPO_NAME}"},
            label=f"{label}, another project's repository",
        ),
        Case(
            "docker_repos:retry",
            ELSEWHERE[mode],
            kwargs=others_repo_via("acp", mode, Status.FAILED),
            method="post",
            label=f"{label}, another project's repository",
        ),
    ]


CASES = (
    cases_for(MEMBERS)
    + cases_for(ADMINS)
    + [
        # acp's repository through other's URL: not there, whoever asks (other's admin too).
        Case(
            "docker_repos:delete",
            NOWHERE,
            method="post",
            data=CONFIRM,
            kwargs=lambda world, user: {
                "shortname": "other",
                "repo_id": acp_repo(MEMBERS)(world, user)["repo_id"],
            },
            label="acp's repository through other's URL",
        ),
        Case(
            "docker_repos:project-repos",
            NOWHERE,
            kwargs={"shortname": "nope"},
            label="no such project",
        ),
        # Retry is POST only: a GET (a prefetch, a pasted link) is 405 and retries nothing.
        Case(
            "docker_repos:retry",
            READ | {role: NOT_ALLOWED for role in ("member", "project_admin", "hub_admin")},
            kwargs=acp_repo(MEMBERS, Status.FAILED),
            label="GET",
        ),
    ]
)


@parametrize(CASES)
def test_permission_matrix(case, role, client, world, request):
    if case.url_name == "docker_repos:detail":
        request.getfixturevalue("aws")  # an active repository's page lists its images live
    check(case, role, client, world)


# --- What the list shows to whom ----------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "role", "manages"),
    [
        (MEMBERS, "member", True),
        (MEMBERS, "project_admin", True),
        (ADMINS, "member", False),
        (ADMINS, "project_admin", True),
        (ADMINS, "hub_admin", True),
    ],
)
def test_the_list_offers_actions_only_to_repo_managers(world, client, mode, role, manages):
    set_mode(world, mode)
    active = DockerRepo.objects.create(
        project=world.project, service=world.service, name="live", status=Status.ACTIVE
    )
    failed = DockerRepo.objects.create(
        project=world.project,
        service=world.service,
        name="broken",
        status=Status.FAILED,
        status_detail="AWS refused the name",
    )
    client.force_login(world.users[role])
    actions = [
        reverse("docker_repos:request", args=["acp"]),
        reverse("docker_repos:delete", args=["acp", active.pk]),
        reverse("docker_repos:delete", args=["acp", failed.pk]),
        reverse("docker_repos:retry", args=["acp", failed.pk]),
    ]
    for url_name in ("docker_repos:project-repos", "docker_repos:project-repos-fragment"):
        body = client.get(reverse(url_name, args=["acp"])).content.decode()
        assert "acp /</span> live" in body and "acp /</span> broken" in body
        assert "AWS refused the name" in body, "everyone sees why it failed"
        shown = [url for url in actions if f'"{url}"' in body]
        if url_name.endswith("fragment"):
            actions_here = actions[1:]  # the REQUEST button is on the page, not the list
        else:
            actions_here = actions
        assert shown == (actions_here if manages else []), f"{url_name} as {role}"
    detail = client.get(reverse("docker_repos:detail", args=["acp", failed.pk]))
    body = detail.content.decode()
    assert (f'"{actions[2]}"' in body) is manages, "Delete on the repository page"
    assert (f'"{actions[3]}"' in body) is manages, "Retry on the repository page"
