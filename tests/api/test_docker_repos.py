"""Repositories through the API: success and every error path, and the same validation
messages as the browser's form (both call docker_repos.services.repo_request)."""

import json

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from docker_repos import services
from docker_repos.api.serializers import RepoSerializer
from docker_repos.models import DockerRepo
from hub.aws import AwsPermanentError, AwsTransientError, client
from hub.choices import Status
from hub.models import AuditEvent
from projects.choices import RepoManagement
from projects.models import Service

from .matrix import assert_error_shape
from .support import API, make_repo

ACP = f"{API}projects/acp/"
REPOS = f"{ACP}docker-repos/"
BAD_NAME_MESSAGE = (
    "Use lowercase letters and digits, separated by single '.', '_', '-' or '/' "
    "(no separator at the start, at the end or twice in a row)."
)


def error_of(response, status: int) -> dict:
    assert response.status_code == status, response.content
    return assert_error_shape(response)


def request_body(world, **overrides) -> dict:
    return {"service": world.service.pk, "name": "web", **overrides}


# --- list and create --------------------------------------------------------------------


def test_request_a_repository(api, world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = api("member").post(
            REPOS,
            request_body(
                world,
                description="The web app",
                tag_mutability="IMMUTABLE",
                scan_on_push=False,
                keep_last_images=5,
            ),
            format="json",
        )
    assert response.status_code == 201
    body = response.json()
    repo = DockerRepo.objects.get()
    assert body == {
        "id": repo.pk,
        "name": "web",
        "full_name": "acp/web",
        "uri": "",
        "project": "acp",
        "service": {"id": world.service.pk, "name": "hello-world-app"},
        "description": "The web app",
        "status": "pending",
        "status_detail": "",
        "tag_mutability": "IMMUTABLE",
        "scan_on_push": False,
        "keep_last_images": 5,
        "created_at": body["created_at"],
        "updated_at": body["updated_at"],
    }
    assert len(callbacks) == 1  # the provisioning task, sent once the request commits
    assert AuditEvent.objects.filter(action="docker_repo.requested").count() == 1


def test_list_repositories(api, world):
    make_repo(world, name="b-app")
    make_repo(world, name="a-app", status=Status.FAILED, status_detail="AWS said no")
    make_repo(world, project=world.other, name="theirs")
    body = api("member").get(REPOS).json()
    assert body["count"] == 2
    assert [(r["name"], r["status"], r["status_detail"]) for r in body["results"]] == [
        ("a-app", "failed", "AWS said no"),
        ("b-app", "active", ""),
    ]
    assert body["results"][1]["uri"].endswith(".amazonaws.com/acp/b-app")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": "Bad Name"}, "name"),
        ({"name": "web-"}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x" * 300}, "name"),
        ({"name": 7}, "name"),
        ({"service": "1"}, "service"),
        ({"service": None}, "service"),
        ({"service": 2**70}, "service"),
        ({"service": 0}, "service"),
        ({"service": 999_999}, "service"),
        ({"scan_on_push": "yes"}, "scan_on_push"),
        ({"scan_on_push": 1}, "scan_on_push"),
        ({"keep_last_images": 0}, "keep_last_images"),
        ({"keep_last_images": 10**30}, "keep_last_images"),
        ({"keep_last_images": "5"}, "keep_last_images"),
        ({"keep_last_images": 1.5}, "keep_last_images"),
        ({"keep_last_images": True}, "keep_last_images"),
        ({"tag_mutability": "mutable"}, "tag_mutability"),
        ({"tag_mutability": ["MUTABLE"]}, "tag_mutability"),
        ({"description": {"a": 1}}, "description"),
        ({"visibility": "public"}, "visibility"),
    ],
)
def test_bad_requests_are_400_with_the_field(api, world, overrides, field):
    body = request_body(world, **overrides)
    error = error_of(api("member").post(REPOS, body, format="json"), 400)
    assert error["code"] == "invalid"
    assert list(error["fields"]) == [field]
    assert not DockerRepo.objects.exists()


def test_a_service_of_another_project_is_refused(api, world):
    theirs = Service.objects.create(project=world.other, name="theirs")
    error = error_of(
        api("hub_admin").post(REPOS, request_body(world, service=theirs.pk), format="json"), 400
    )
    assert error["fields"] == {"service": ["Choose a service of this project."]}


def test_a_duplicate_name_is_409(api, world):
    make_repo(world)
    error = error_of(api("member").post(REPOS, request_body(world), format="json"), 409)
    assert error["message"] == "A repository named acp/web already exists."
    assert error["fields"] == {
        "name": ["A repository with this name already exists in the project."]
    }


def test_members_may_not_request_when_admins_manage_repositories(api, world):
    world.project.repo_management = RepoManagement.ADMINS
    world.project.save()
    error = error_of(api("member").post(REPOS, request_body(world), format="json"), 403)
    assert error["message"] == "Only repo managers of this project can do this."
    assert api("project_admin").post(REPOS, request_body(world), format="json").status_code == 201


@pytest.mark.parametrize(
    "body", ["[1, 2]", '"web"', "null", "{", '{"name": NaN}', "[" * 100_000, "\xff\xfe"]
)
def test_bodies_that_are_not_a_json_object_are_400(api, world, body):
    response = api("member").generic(
        "POST", REPOS, body.encode("latin-1"), content_type="application/json"
    )
    error_of(response, 400)


def test_a_body_that_is_not_json_is_415(api, world):
    response = api("member").post(
        REPOS, "service=1&name=web", content_type="application/x-www-form-urlencoded"
    )
    assert error_of(response, 415)["code"] == "unsupported_media_type"


def test_api_and_page_give_the_same_message_for_a_bad_name(api, world):
    """Both call repo_request: the API's field message is the one the form shows."""
    api_error = error_of(
        api("member").post(REPOS, request_body(world, name="Bad_Name!"), format="json"), 400
    )
    assert api_error["fields"]["name"] == [BAD_NAME_MESSAGE]

    browser = Client()
    browser.force_login(world.users["member"])
    page = browser.post(
        reverse("docker_repos:request", args=["acp"]),
        {"service": world.service.pk, "name": "Bad_Name!", "tag_mutability": "MUTABLE"},
    )
    assert page.status_code == 400
    assert escape(api_error["fields"]["name"][0]) in page.content.decode()
    assert escape(api_error["message"]) in page.content.decode()


# --- one repository -----------------------------------------------------------------------


def test_get_a_repository(api, world):
    repo = make_repo(world)
    body = api("member").get(f"{API}docker-repos/{repo.pk}/").json()
    assert body["full_name"] == "acp/web" and body["status"] == "active"


def test_another_projects_repository_is_404_even_for_its_project_admins_peers(api, world):
    theirs = make_repo(world, project=world.other, name="theirs")
    for role in ("member", "project_admin", "non_member"):
        client = api(role)
        error_of(client.get(f"{API}docker-repos/{theirs.pk}/"), 404)
        error_of(client.delete(f"{API}docker-repos/{theirs.pk}/"), 404)
        error_of(client.post(f"{API}docker-repos/{theirs.pk}/retry/"), 404)
        error_of(client.get(f"{API}docker-repos/{theirs.pk}/images/"), 404)
    assert DockerRepo.objects.get(pk=theirs.pk).status == Status.ACTIVE


def test_delete_is_202_then_the_repository_goes(
    api, world, aws, django_capture_on_commit_callbacks
):
    repo = make_repo(world, in_ecr=True)
    with django_capture_on_commit_callbacks() as callbacks:
        response = api("member").delete(f"{API}docker-repos/{repo.pk}/")
    assert response.status_code == 202
    assert response.json()["status"] == "deleting"
    assert len(callbacks) == 1
    # Deleting again while it is on its way is the same answer.
    assert api("member").delete(f"{API}docker-repos/{repo.pk}/").status_code == 202
    services.repo_destroy(repo.pk)  # what the task does
    error_of(api("member").get(f"{API}docker-repos/{repo.pk}/"), 404)
    assert client("ecr").describe_repositories()["repositories"] == []


def test_delete_while_being_created_is_409(api, world):
    repo = make_repo(world, status=Status.PENDING)
    error = error_of(api("member").delete(f"{API}docker-repos/{repo.pk}/"), 409)
    assert "still being created" in error["message"]


def test_retry(api, world):
    failed = make_repo(world, status=Status.FAILED, status_detail="AWS said no")
    response = api("member").post(f"{API}docker-repos/{failed.pk}/retry/")
    assert response.status_code == 202
    assert response.json()["status"] == "pending"
    assert response.json()["status_detail"] == ""
    error = error_of(api("member").post(f"{API}docker-repos/{failed.pk}/retry/"), 409)
    assert error["message"] == "Only a failed repository can be retried; acp/web is pending."


def test_retry_of_a_failed_deletion_resumes_the_deletion(api, world):
    repo = make_repo(world, status=Status.FAILED, delete_requested=True)
    response = api("member").post(f"{API}docker-repos/{repo.pk}/retry/")
    assert response.json()["status"] == "deleting"


def test_retry_takes_no_body(api, world):
    repo = make_repo(world, status=Status.FAILED)
    error = error_of(
        api("member").post(f"{API}docker-repos/{repo.pk}/retry/", {"force": True}, format="json"),
        400,
    )
    assert list(error["fields"]) == ["force"]
    assert DockerRepo.objects.get(pk=repo.pk).status == Status.FAILED


# --- images -------------------------------------------------------------------------------


def push_image(repo_name: str, tag: str, number: int) -> None:
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {
            "digest": f"sha256:{number:064x}",
            "size": 1,
            "mediaType": "application/vnd.docker.container.image.v1+json",
        },
        "layers": [],
    }
    client("ecr").put_image(
        repositoryName=repo_name, imageManifest=json.dumps(manifest), imageTag=tag
    )


def test_images_are_read_from_ecr(api, world, aws):
    repo = make_repo(world, in_ecr=True)
    push_image("acp/web", "v1", 1)
    body = api("member").get(f"{API}docker-repos/{repo.pk}/images/").json()
    assert body["count"] is None and body["next"] is None and body["previous"] is None
    [image] = body["results"]
    assert image["tags"] == ["v1"]
    assert image["digest"].startswith("sha256:")
    assert image["size_bytes"] >= 0 and image["pushed_at"]


def test_images_next_link_carries_the_ecr_token(api, world, monkeypatch):
    repo = make_repo(world)
    calls = []

    def one_page(repo, *, page_token=None, page_size=20):
        calls.append((page_token, page_size))
        return [], "TOKEN/with+chars"

    monkeypatch.setattr(services, "repo_images", one_page)
    body = api("member").get(f"{API}docker-repos/{repo.pk}/images/?page_size=5").json()
    assert body["next"] == (
        f"http://testserver{API}docker-repos/{repo.pk}/images/"
        "?page_size=5&page_token=TOKEN%2Fwith%2Bchars"
    )
    api("member").get(body["next"].replace("http://testserver", ""))
    assert calls == [(None, 5), ("TOKEN/with+chars", 5)]


@pytest.mark.parametrize("page_size", ["0", "101", "abc", "-1", "9" * 30])
def test_images_page_size_is_checked(api, world, page_size):
    repo = make_repo(world)
    error = error_of(
        api("member").get(f"{API}docker-repos/{repo.pk}/images/?page_size={page_size}"), 400
    )
    assert list(error["fields"]) == ["page_size"]


def test_images_with_a_page_token_ecr_refuses_are_400(api, world, monkeypatch):
    repo = make_repo(world)

    def refuse(*args, **kwargs):
        raise AwsPermanentError("AWS refused", code="InvalidParameterException")

    monkeypatch.setattr(services, "repo_images", refuse)
    error = error_of(
        api("member").get(f"{API}docker-repos/{repo.pk}/images/?page_token=garbage"), 400
    )
    assert list(error["fields"]) == ["page_token"]


def test_images_when_aws_is_unreachable_are_503_with_retry_after(api, world, monkeypatch):
    repo = make_repo(world)

    def unreachable(*args, **kwargs):
        raise AwsTransientError("AWS unreachable while trying to list the images of acp/web")

    monkeypatch.setattr(services, "repo_images", unreachable)
    response = api("member").get(f"{API}docker-repos/{repo.pk}/images/")
    assert error_of(response, 503)["code"] == "aws_unavailable"
    assert response["Retry-After"] == "5"


@pytest.mark.parametrize("state", [Status.PENDING, Status.DELETING, Status.FAILED])
def test_images_of_a_repository_that_is_not_active_are_409(api, world, state):
    repo = make_repo(world, status=state)
    error_of(api("member").get(f"{API}docker-repos/{repo.pk}/images/"), 409)


def test_a_list_row_is_exactly_the_repository_object(world, client):
    """The list is built from plain rows for speed; it must say what the detail says."""

    repo = DockerRepo.objects.create(
        project=world.project,
        service=world.service,
        name="web/api",
        description="d",
        status="failed",
        status_detail="AWS refused",
        keep_last_images=7,
        uri="123456789012.dkr.ecr.eu-west-2.amazonaws.com/acp/web/api",
    )
    client.force_login(world.users["member"])
    listed = client.get("/api/v1/projects/acp/docker-repos/").json()["results"]
    assert listed == [RepoSerializer(repo).data]
