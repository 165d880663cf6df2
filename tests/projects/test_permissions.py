"""The permission matrix of the project pages (and the ALL DOCKER REPOS tab)."""

from projects.models import Service
from tests.matrix import (
    ACP,
    ADMIN_ACTION,
    ADMIN_PAGE,
    FORBIDDEN,
    HUB_ADMIN_ACTION,
    HUB_ADMIN_PAGE,
    NOWHERE,
    READ,
    REFUSED,
    SIGNED_IN,
    Case,
    check,
    parametrize,
)


def acp_service(world, user):
    return {"shortname": "acp", "service_id": world.service.pk}


def acp_member(world, user):
    return {"shortname": "acp", "username": world.users["member"].username}


def other_service_via_acp(world, user):
    """A service of `other` addressed through `acp`'s URL."""
    service = Service.objects.create(project=world.other, name="other-app")
    return {"shortname": "acp", "service_id": service.pk}


def acp_service_via_other(world, user):
    """`acp`'s service addressed through `other`'s URL (where other_admin is an admin)."""
    return {"shortname": "other", "service_id": world.service.pk}


def acp_member_via_other(world, user):
    return {"shortname": "other", "username": world.users["member"].username}


# Through a project's URL, objects of another project do not exist; members get their
# 403 before the object is looked up.
OTHERS_OBJECT_VIA_ACP = NOWHERE | {"member": FORBIDDEN}
# In `other`, only other_admin (and the hub admin) may act; the object is not there.
ACP_OBJECT_VIA_OTHER = NOWHERE
# In `other`, acp's member is not a member: the action is refused with a message.
ACP_MEMBER_VIA_OTHER = NOWHERE | {"other_admin": REFUSED, "hub_admin": REFUSED}

CASES = [
    Case("projects:list", SIGNED_IN),
    Case("projects:create", HUB_ADMIN_PAGE),
    Case(
        "projects:create",
        HUB_ADMIN_ACTION,
        method="post",
        data={"shortname": "newproj", "name": "New project", "repo_management": "members"},
    ),
    Case("projects:detail", READ, kwargs=ACP),
    Case("projects:detail", NOWHERE, kwargs={"shortname": "nope"}, label="no such project"),
    Case(
        "projects:settings",
        ADMIN_ACTION,
        kwargs=ACP,
        method="post",
        data={"name": "ACP renamed", "description": "", "repo_management": "admins"},
    ),
    Case(
        "projects:member-add",
        ADMIN_ACTION,
        kwargs=ACP,
        method="post",
        data={"user": "outsider", "role": "member"},
    ),
    Case(
        "projects:member-role",
        ADMIN_ACTION,
        kwargs=acp_member,
        method="post",
        data={"role": "admin"},
    ),
    Case(
        "projects:member-role",
        ACP_MEMBER_VIA_OTHER,
        kwargs=acp_member_via_other,
        method="post",
        data={"role": "admin"},
        label="not a member there",
    ),
    Case("projects:member-remove", ADMIN_ACTION, kwargs=acp_member, method="post"),
    Case(
        "projects:member-remove",
        ACP_MEMBER_VIA_OTHER,
        kwargs=acp_member_via_other,
        method="post",
        label="not a member there",
    ),
    Case("projects:services", READ, kwargs=ACP),
    Case(
        "projects:services",
        ADMIN_ACTION,
        kwargs=ACP,
        method="post",
        data={"name": "billing-api", "description": "Bills"},
    ),
    Case("projects:service-edit", ADMIN_PAGE, kwargs=acp_service),
    Case(
        "projects:service-edit",
        ADMIN_ACTION,
        kwargs=acp_service,
        method="post",
        data={"name": "renamed-app", "description": "Renamed"},
    ),
    Case(
        "projects:service-edit",
        OTHERS_OBJECT_VIA_ACP,
        kwargs=other_service_via_acp,
        label="other's service via acp",
    ),
    Case(
        "projects:service-edit",
        ACP_OBJECT_VIA_OTHER,
        kwargs=acp_service_via_other,
        method="post",
        data={"name": "stolen"},
        label="acp's service via other",
    ),
    Case("projects:service-delete", ADMIN_PAGE, kwargs=acp_service),
    Case("projects:service-delete", ADMIN_ACTION, kwargs=acp_service, method="post"),
    Case(
        "projects:service-delete",
        OTHERS_OBJECT_VIA_ACP,
        kwargs=other_service_via_acp,
        method="post",
        label="other's service via acp",
    ),
    Case(
        "projects:service-delete",
        ACP_OBJECT_VIA_OTHER,
        kwargs=acp_service_via_other,
        method="post",
        label="acp's service via other",
    ),
    Case("projects:activity", ADMIN_PAGE, kwargs=ACP),
    Case("docker_repos:project-repos", READ, kwargs=ACP),
    # The hub admin is not special on a project that does not exist.
    Case(
        "projects:services",
        NOWHERE,
        kwargs={"shortname": "nope"},
        method="post",
        data={"name": "x-app"},
        label="no such project",
    ),
]


@parametrize(CASES)
def test_permission_matrix(case, role, client, world):
    check(case, role, client, world)
