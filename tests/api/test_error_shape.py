"""The contract's error shape (shared/API.md) at its two edges: an error that is about no
field, and a bug in the hub (a 500, still JSON in the shape, nothing of the bug shown)."""

import logging

import pytest
from django.urls import include, path
from rest_framework.views import APIView

from docker_repos.models import DockerRepo
from tests.helpers import db_state

from .matrix import assert_error_shape, call
from .support import API, client_for

SECRET_DETAIL = "database password is hunter2"  # what a bug's message may carry


class FailingView(APIView):
    """A view with a bug: what the hub's exception handler sees from an unhandled error."""

    def get(self, request):
        raise RuntimeError(SECRET_DETAIL)


# This module is the URLconf of the 500 test: the API, plus one view that fails.
urlpatterns = [
    path("api/v1/broken/", FailingView.as_view()),
    path("", include("hub.urls")),
]


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("post", "projects/acp/docker-repos/"),
        ("patch", "projects/acp/"),
        ("put", "docker-repos/{repo}/access/"),
    ],
)
def test_a_lone_non_field_error_is_the_message_and_fields_stay_empty(world, method, url):
    """A body that is a list, not an object: DRF's only error is not about a field. The
    message says it, and `fields` (field -> messages) names no made-up field."""
    repo = DockerRepo.objects.create(
        project=world.project, service=world.service, name="web", status="active"
    )
    client = client_for(world.users["project_admin"])
    before = db_state()
    response = call(client, method, API + url.format(repo=repo.pk), body=[])

    assert response.status_code == 400, response.content
    assert assert_error_shape(response) == {
        "code": "invalid",
        "message": "Invalid data. Expected a dictionary, but got list.",
        "fields": {},
    }
    assert db_state() == before


def test_a_field_error_next_to_it_keeps_fields(world):
    """The other side of the rule: an error about a field is under `fields`."""
    response = call(
        client_for(world.users["project_admin"]),
        "post",
        API + "projects/acp/docker-repos/",
        body={"name": 5, "service": "x"},
    )
    assert response.status_code == 400
    error = assert_error_shape(response)
    assert error["code"] == "invalid"
    assert set(error["fields"]) >= {"name"}, error


@pytest.mark.urls(__name__)
def test_a_bug_answers_500_in_the_error_shape_and_shows_nothing_of_it(world, caplog):
    client = client_for(world.users["member"])
    with caplog.at_level(logging.ERROR, logger="hub.api.exceptions"):
        response = client.get("/api/v1/broken/")

    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "error": {
            "code": "server_error",
            "message": "The hub failed to handle this request; the operators can see the error "
            "in its log.",
            "fields": {},
        }
    }
    assert SECRET_DETAIL not in response.content.decode()
    # The operators do see it, with the traceback.
    [record] = [r for r in caplog.records if r.name == "hub.api.exceptions"]
    assert record.getMessage() == "Unhandled error in FailingView"
    assert record.exc_info[0] is RuntimeError
    # The rest of the API is still served by this URLconf.
    assert client.get("/api/v1/me/").status_code == 200
