"""Projects, members and services through the API: success and every error path."""

import pytest

from docker_repos.models import DockerRepo
from hub.models import AuditEvent
from projects.models import Membership, Project, Service

from .matrix import assert_error_shape
from .support import API, make_repo

ACP = f"{API}projects/acp/"


def error_of(response, status: int) -> dict:
    assert response.status_code == status, response.content
    return assert_error_shape(response)


# --- me ---------------------------------------------------------------------------------


def test_me(api):
    assert api("hub_admin").get(f"{API}me/").json() == {
        "username": "hubadmin",
        "email": "hubadmin@example.com",
        "is_hub_admin": True,
    }
    assert api("member").get(f"{API}me/").json()["is_hub_admin"] is False


# --- projects ---------------------------------------------------------------------------


def test_project_list_is_your_projects_with_your_role(api, world):
    body = api("member").get(f"{API}projects/").json()
    assert body == {
        "count": 1,
        "next": None,
        "previous": None,
        "results": [
            {
                "shortname": "acp",
                "name": "ACP",
                "description": "",
                "my_role": "member",
                "repo_management": "members",
            }
        ],
    }
    assert api("non_member").get(f"{API}projects/").json()["results"] == []


def test_hub_admin_lists_every_project_with_no_role(api):
    results = api("hub_admin").get(f"{API}projects/").json()["results"]
    assert [(p["shortname"], p["my_role"]) for p in results] == [("acp", None), ("other", None)]


def test_project_list_pages(api, world):
    for number in range(3):
        Project.objects.create(shortname=f"p{number}", name=f"P{number}")
    body = api("hub_admin").get(f"{API}projects/?page_size=2").json()
    assert body["count"] == 5 and len(body["results"]) == 2
    assert body["next"].endswith("/api/v1/projects/?page=2&page_size=2")
    assert body["previous"] is None
    last = api("hub_admin").get(body["next"].replace("http://testserver", "")).json()
    assert last["previous"]
    error_of(api("hub_admin").get(f"{API}projects/?page=99"), 404)


def test_hub_admin_creates_a_project_with_its_first_admin(api, world):
    response = api("hub_admin").post(
        f"{API}projects/",
        {
            "shortname": "data",
            "name": "Data platform",
            "description": "Pipelines",
            "admin": "member",
        },
        format="json",
    )
    assert response.status_code == 201
    assert response.json() == {
        "shortname": "data",
        "name": "Data platform",
        "description": "Pipelines",
        "my_role": None,
        "repo_management": "members",
    }
    project = Project.objects.get(shortname="data")
    assert project.memberships.get().user == world.users["member"]
    assert AuditEvent.objects.filter(action="project.created", project_id=project.pk).exists()


def test_project_create_errors(api, world):
    client = api("hub_admin")
    bad = error_of(
        client.post(f"{API}projects/", {"shortname": "Bad Name", "name": "x"}, format="json"), 400
    )
    assert bad["fields"] == {
        "shortname": ["Use lowercase letters, digits and hyphens, starting with a letter."]
    }
    duplicate = error_of(
        client.post(f"{API}projects/", {"shortname": "acp", "name": "x"}, format="json"), 409
    )
    assert duplicate["fields"] == {"shortname": ["A project with this shortname already exists."]}
    missing = error_of(client.post(f"{API}projects/", {"name": "x"}, format="json"), 400)
    assert missing["fields"] == {"shortname": ["This field is required."]}
    unknown_admin = error_of(
        client.post(
            f"{API}projects/", {"shortname": "data", "name": "x", "admin": "nobody"}, format="json"
        ),
        400,
    )
    assert list(unknown_admin["fields"]) == ["admin"]
    wrong_type = error_of(
        client.post(f"{API}projects/", {"shortname": 42, "name": "x"}, format="json"), 400
    )
    assert wrong_type["fields"] == {"shortname": ["Must be a string."]}
    assert not Project.objects.filter(shortname="data").exists()


def test_only_hub_admins_create_projects_even_with_a_bad_body(api):
    error = error_of(api("project_admin").post(f"{API}projects/", {"bogus": 1}, format="json"), 403)
    assert error["code"] == "permission_denied"


def test_project_admin_changes_settings(api, world):
    response = api("project_admin").patch(
        ACP, {"name": "ACP platform", "repo_management": "admins"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["repo_management"] == "admins"
    assert response.json()["my_role"] == "admin"
    world.project.refresh_from_db()
    assert world.project.name == "ACP platform"


def test_project_patch_errors(api, world):
    client = api("project_admin")
    assert error_of(client.patch(ACP, {"shortname": "new"}, format="json"), 400)["fields"] == {
        "shortname": ["Unknown field: this endpoint does not accept it."]
    }
    assert error_of(client.patch(ACP, {"name": ""}, format="json"), 400)["fields"] == {
        "name": ["This field cannot be blank."]
    }
    assert (
        "repo_management"
        in error_of(client.patch(ACP, {"repo_management": "everyone"}, format="json"), 400)[
            "fields"
        ]
    )
    assert (
        error_of(api("member").patch(ACP, {"name": "x"}, format="json"), 403)["message"]
        == "Only project admins can do this."
    )
    error_of(api("other_admin").patch(ACP, {"name": "x"}, format="json"), 404)


# --- members ----------------------------------------------------------------------------


def test_members_list(api):
    body = api("member").get(f"{ACP}members/").json()
    assert body["results"] == [
        {"username": "member", "email": "member@example.com", "role": "member"},
        {"username": "padmin", "email": "padmin@example.com", "role": "admin"},
    ]


def test_add_member_by_username_or_email(api, world):
    client = api("project_admin")
    response = client.post(f"{ACP}members/", {"username": "outsider"}, format="json")
    assert response.status_code == 201
    assert response.json() == {
        "username": "outsider",
        "email": "outsider@example.com",
        "role": "member",
    }
    response = client.post(
        f"{ACP}members/", {"username": "otheradmin@example.com", "role": "admin"}, format="json"
    )
    assert response.json()["role"] == "admin"


def test_add_member_errors(api, world):
    client = api("project_admin")
    duplicate = error_of(client.post(f"{ACP}members/", {"username": "member"}, format="json"), 409)
    assert duplicate["fields"] == {"username": ["member is already a member of acp."]}
    unknown = error_of(client.post(f"{ACP}members/", {"username": "nobody"}, format="json"), 400)
    assert unknown["fields"] == {"username": ["No active user 'nobody' exists in the hub."]}
    bad_role = error_of(
        client.post(f"{ACP}members/", {"username": "outsider", "role": "owner"}, format="json"), 400
    )
    assert list(bad_role["fields"]) == ["role"]
    error_of(api("member").post(f"{ACP}members/", {"username": "outsider"}, format="json"), 403)


def test_change_role_and_the_last_admin(api, world):
    client = api("project_admin")
    response = client.patch(f"{ACP}members/member/", {"role": "admin"}, format="json")
    assert response.status_code == 200 and response.json()["role"] == "admin"
    client.patch(f"{ACP}members/member/", {"role": "member"}, format="json")
    last = error_of(client.patch(f"{ACP}members/padmin/", {"role": "member"}, format="json"), 409)
    assert "last project admin" in last["message"]
    error_of(client.patch(f"{ACP}members/nobody/", {"role": "admin"}, format="json"), 404)
    error_of(client.patch(f"{ACP}members/member/", {"role": True}, format="json"), 400)
    error_of(client.patch(f"{ACP}members/member/", {}, format="json"), 400)


def test_remove_member(api, world):
    client = api("project_admin")
    response = client.delete(f"{ACP}members/member/")
    assert response.status_code == 204 and response.content == b""
    assert not Membership.objects.filter(user=world.users["member"]).exists()
    error_of(client.delete(f"{ACP}members/member/"), 404)
    error_of(client.delete(f"{ACP}members/padmin/"), 409)  # the last admin


# --- services ---------------------------------------------------------------------------


def test_services_list_and_create(api, world):
    client = api("project_admin")
    assert client.get(f"{ACP}services/").json()["results"] == [
        {"id": world.service.pk, "name": "hello-world-app", "description": ""}
    ]
    response = client.post(
        f"{ACP}services/", {"name": "billing", "description": "Money"}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["name"] == "billing"
    assert Service.objects.filter(project=world.project, name="billing").exists()


def test_service_errors(api, world):
    client = api("project_admin")
    duplicate = error_of(
        client.post(f"{ACP}services/", {"name": "hello-world-app"}, format="json"), 409
    )
    assert duplicate["fields"] == {"name": ["This project already has a service with this name."]}
    invalid = error_of(client.post(f"{ACP}services/", {"name": "no spaces"}, format="json"), 400)
    assert invalid["fields"] == {
        "name": ["Use lowercase letters and digits, separated by single '.', '_' or '-'."]
    }
    error_of(client.post(f"{ACP}services/", {"name": "ok", "owner": "me"}, format="json"), 400)
    error_of(api("member").post(f"{ACP}services/", {"name": "x"}, format="json"), 403)


def test_service_patch_and_delete(api, world):
    client = api("project_admin")
    url = f"{ACP}services/{world.service.pk}/"
    response = client.patch(url, {"name": "hello", "description": "renamed"}, format="json")
    assert response.status_code == 200
    assert response.json() == {"id": world.service.pk, "name": "hello", "description": "renamed"}
    Service.objects.create(project=world.project, name="taken")
    error_of(client.patch(url, {"name": "taken"}, format="json"), 409)
    error_of(client.patch(url, {"name": "Not valid!"}, format="json"), 400)
    error_of(client.patch(url, {"id": 5}, format="json"), 400)
    assert client.delete(url).status_code == 204
    error_of(client.get(url), 404)


def test_a_service_with_repositories_cannot_be_deleted(api, world):
    make_repo(world)
    error = error_of(api("project_admin").delete(f"{ACP}services/{world.service.pk}/"), 409)
    assert "still has 1 Docker repository" in error["message"]
    assert DockerRepo.objects.count() == 1 and Service.objects.filter(pk=world.service.pk)


def test_another_projects_service_is_not_found_through_this_project(api, world):
    theirs = Service.objects.create(project=world.other, name="theirs")
    for role in ("project_admin", "hub_admin"):
        error_of(api(role).get(f"{ACP}services/{theirs.pk}/"), 404)
        error_of(
            api(role).patch(f"{ACP}services/{theirs.pk}/", {"description": "x"}, format="json"), 404
        )
        error_of(api(role).delete(f"{ACP}services/{theirs.pk}/"), 404)
    assert Service.objects.filter(pk=theirs.pk, description="").exists()


@pytest.mark.parametrize("service_id", ["abc", "-1", "1.5", "9" * 19])
def test_service_ids_that_are_not_ids_are_404(api, service_id):
    error_of(api("project_admin").get(f"{ACP}services/{service_id}/"), 404)
