"""Who may call every endpoint: each row runs for all six roles (tests/api/matrix.py)."""

import pytest

from hub.choices import Status
from projects.choices import RepoManagement
from projects.models import Project, Service

from .matrix import (
    ADMIN,
    HUB_ADMIN,
    MANAGER,
    NOWHERE,
    READ,
    SIGNED_IN,
    Endpoint,
    call,
    check,
    expect,
    parametrize,
)
from .support import API, Url, client_for, make_repo
from .test_access import ACCESS_ENDPOINTS
from .test_identities import IDENTITY_ENDPOINTS

ACP = f"{API}projects/acp/"


def repo_url(suffix: str = "", **repo_fields) -> Url:
    label = f"{API}docker-repos/<{repo_fields.get('status', 'active')}>/{suffix}"
    return Url(label, lambda w: f"{API}docker-repos/{make_repo(w, **repo_fields).pk}/{suffix}")


def other_repo_url(suffix: str = "") -> Url:
    return Url(
        f"{API}docker-repos/<other's>/{suffix}",
        lambda w: f"{API}docker-repos/{make_repo(w, project=w.other).pk}/{suffix}",
    )


def service_url(suffix: str = "") -> Url:
    return Url(f"{ACP}services/<id>/{suffix}", lambda w: f"{ACP}services/{w.service.pk}/{suffix}")


def other_service_via_acp() -> Url:
    def build(w):
        service = Service.objects.create(project=w.other, name="other-app")
        return f"{ACP}services/{service.pk}/"

    return Url(f"{ACP}services/<other's>/", build)


def admins_only(path: str) -> Url:
    """`acp` with repository management kept to project admins."""

    def build(w):
        Project.objects.filter(pk=w.project.pk).update(repo_management=RepoManagement.ADMINS)
        return path(w) if callable(path) else path

    return Url(f"{path!r} (repo_management=admins)", build)


# The other project's objects: only its admin and hub admins see them.
OTHERS = NOWHERE | {"other_admin": 200, "hub_admin": 200}
# Members get their 403 for an admin action before the object is looked up.
OTHERS_VIA_ACP_ADMIN_ACTION = NOWHERE | {"member": 403}
# While `acp` keeps repository management to admins.
ADMINS_MANAGE = ADMIN

ENDPOINTS = [
    # --- me and projects
    Endpoint("get", f"{API}me/", SIGNED_IN()),
    Endpoint("get", f"{API}projects/", SIGNED_IN()),
    Endpoint(
        "post",
        f"{API}projects/",
        HUB_ADMIN(201),
        body={"shortname": "newproj", "name": "New project", "description": "d"},
    ),
    Endpoint("get", ACP, READ()),
    Endpoint("get", f"{API}projects/nope/", NOWHERE, label="no such project"),
    Endpoint("patch", ACP, ADMIN(200), body={"description": "changed"}),
    Endpoint(
        "patch",
        f"{API}projects/other/",
        expect(non_member=404, member=404, project_admin=404, other_admin=200, hub_admin=200),
        body={"description": "changed"},
        label="another project",
    ),
    # --- members
    Endpoint("get", f"{ACP}members/", READ()),
    Endpoint("post", f"{ACP}members/", ADMIN(201), body={"username": "outsider"}),
    Endpoint("get", f"{ACP}members/member/", READ()),
    Endpoint("get", f"{ACP}members/otheradmin/", NOWHERE, label="not a member"),
    Endpoint("patch", f"{ACP}members/member/", ADMIN(200), body={"role": "admin"}),
    Endpoint(
        "patch",
        f"{ACP}members/otheradmin/",
        NOWHERE | {"member": 403},
        body={"role": "admin"},
        label="not a member",
    ),
    Endpoint("delete", f"{ACP}members/member/", ADMIN(204)),
    # --- services
    Endpoint("get", f"{ACP}services/", READ()),
    Endpoint("post", f"{ACP}services/", ADMIN(201), body={"name": "new-service"}),
    Endpoint("get", service_url(), READ()),
    Endpoint("get", other_service_via_acp(), NOWHERE, label="another project's"),
    Endpoint("patch", service_url(), ADMIN(200), body={"description": "changed"}),
    Endpoint(
        "patch",
        other_service_via_acp(),
        OTHERS_VIA_ACP_ADMIN_ACTION,
        body={"description": "changed"},
        label="another project's",
    ),
    Endpoint("delete", service_url(), ADMIN(204)),
    # --- repositories
    Endpoint("get", f"{ACP}docker-repos/", READ()),
    Endpoint(
        "post",
        f"{ACP}docker-repos/",
        MANAGER(201),
        body=lambda w: {"service": w.service.pk, "name": "web"},
    ),
    Endpoint(
        "post",
        admins_only(f"{ACP}docker-repos/"),
        ADMINS_MANAGE(201),
        body=lambda w: {"service": w.service.pk, "name": "web"},
        label="repo_management=admins",
    ),
    Endpoint("get", repo_url(), READ()),
    Endpoint("get", other_repo_url(), OTHERS, label="another project's"),
    Endpoint("delete", repo_url(), MANAGER(202)),
    Endpoint(
        "delete",
        other_repo_url(),
        NOWHERE | {"other_admin": 202, "hub_admin": 202},
        label="another project's",
    ),
    Endpoint("post", repo_url("retry/", status=Status.FAILED), MANAGER(202)),
    Endpoint(
        "post",
        admins_only(repo_url("retry/", status=Status.FAILED)),
        ADMINS_MANAGE(202),
        label="repo_management=admins",
    ),
    Endpoint("get", repo_url("images/", in_ecr=True), READ()),
    Endpoint("get", f"{API}docker-repos/999999/", NOWHERE, label="no such repository"),
    # --- anything else under /api/v1/
    Endpoint("get", f"{API}no-such-endpoint/", NOWHERE),
    Endpoint("post", f"{API}docker-repos/12345678901234567890123/", NOWHERE, label="id too large"),
]

ENDPOINTS += ACCESS_ENDPOINTS + IDENTITY_ENDPOINTS


@pytest.mark.django_db
@parametrize(ENDPOINTS)
def test_permission_matrix(endpoint, role, world, aws):
    check(endpoint, role, world)


@pytest.mark.parametrize(
    ("hidden", "missing"),
    [
        ("projects/acp/", "projects/nope/"),
        ("projects/acp/services/", "projects/nope/services/"),
        ("docker-repos/{repo}/", "docker-repos/999999/"),
        ("docker-repos/{repo}/access/", "docker-repos/999999/access/"),
    ],
)
def test_not_visible_and_not_existing_are_the_same_answer(world, hidden, missing):
    """Another project's object answers exactly as one that does not exist."""
    repo = make_repo(world)
    outsider = client_for(world.users["other_admin"])
    first = call(outsider, "get", API + hidden.format(repo=repo.pk))
    second = call(outsider, "get", API + missing)
    assert (
        (first.status_code, first.json())
        == (second.status_code, second.json())
        == (404, second.json())
    )
