"""Length limits through the API: a description or name beyond its limit is a structured
400 naming the field, with the same message as the browser's form, and nothing changes."""

import pytest
from django.core.exceptions import ValidationError

from docker_repos.api.serializers import RepoCreateSerializer
from docker_repos.models import DockerRepo
from hub.limits import DESCRIPTION_MAX
from projects.api import serializers as project_serializers
from projects.models import Project, Service
from tests.helpers import db_state

from .matrix import assert_error_shape
from .support import API

TOO_LONG = "x" * (DESCRIPTION_MAX + 1)  # unbroken, like the 20,000 characters once accepted
MESSAGE = (
    f"Ensure this value has at most {DESCRIPTION_MAX} characters (it has {DESCRIPTION_MAX + 1})."
)


def service_id(world) -> int:
    return world.service.pk


CASES = [
    # (who, method, path, body, field, message)
    (
        "hub_admin",
        "post",
        "projects/",
        {"shortname": "acme", "name": "Acme", "description": TOO_LONG},
        "description",
        MESSAGE,
    ),
    (
        "hub_admin",
        "post",
        "projects/",
        {"shortname": "acme", "name": "n" * 101},
        "name",
        "Ensure this value has at most 100 characters (it has 101).",
    ),
    ("project_admin", "patch", "projects/acp/", {"description": TOO_LONG}, "description", MESSAGE),
    (
        "project_admin",
        "post",
        "projects/acp/services/",
        {"name": "billing", "description": TOO_LONG},
        "description",
        MESSAGE,
    ),
    (
        "project_admin",
        "post",
        "projects/acp/services/",
        {"name": "s" * 64},
        "name",
        "Ensure this value has at most 63 characters (it has 64).",
    ),
    (
        "member",
        "post",
        "projects/acp/docker-repos/",
        {"service": service_id, "name": "web", "description": TOO_LONG},
        "description",
        MESSAGE,
    ),
]


@pytest.mark.parametrize(
    ("role", "method", "path", "body", "field", "message"),
    CASES,
    ids=[f"{c[1]} {c[2]} {c[4]}" for c in CASES],
)
def test_too_long_is_a_structured_400_and_changes_nothing(
    api, world, role, method, path, body, field, message
):
    body = {k: v(world) if callable(v) else v for k, v in body.items()}
    client = api(role)  # its token first: the snapshot is of what the request may change
    before = db_state()
    response = getattr(client, method)(API + path, body, format="json")
    assert response.status_code == 400, response.content
    error = assert_error_shape(response)
    assert error["code"] == "invalid"
    assert error["fields"] == {field: [message]}
    assert db_state() == before


def test_at_the_limit_is_accepted(api, world):
    response = api("project_admin").post(
        API + "projects/acp/services/",
        {"name": "s" * 63, "description": "x" * DESCRIPTION_MAX},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert Service.objects.get(name="s" * 63).description == "x" * DESCRIPTION_MAX


def test_the_models_refuse_it_whoever_calls(world):
    """The limit is the model's (full_clean in every service), not only the API's."""

    for instance in (
        Project(shortname="acme", name="Acme", description=TOO_LONG),
        Service(project=world.project, name="svc", description=TOO_LONG),
        DockerRepo(project=world.project, service=world.service, name="web", description=TOO_LONG),
    ):
        with pytest.raises(ValidationError) as caught:
            instance.full_clean(validate_unique=False, validate_constraints=False)
        assert caught.value.message_dict == {"description": [MESSAGE]}


def test_the_schema_documents_the_limits(client):
    schema = client.get("/api/schema/?format=json").json()["components"]["schemas"]
    request = next(v for k, v in schema.items() if "ServiceCreate" in k)
    assert request["properties"]["description"]["maxLength"] == DESCRIPTION_MAX
    assert request["properties"]["name"]["maxLength"] == 63


def test_the_serializers_refuse_it_before_the_service_with_the_same_message():
    """The API checks the lengths first (the value never reaches a service or a query),
    with the model's validator, so the message is the browser form's."""

    for serializer_class, body in [
        (project_serializers.ProjectCreateSerializer, {"shortname": "acme", "name": "Acme"}),
        (project_serializers.ProjectUpdateSerializer, {}),
        (project_serializers.ServiceCreateSerializer, {"name": "svc"}),
        (project_serializers.ServiceUpdateSerializer, {}),
        (RepoCreateSerializer, {"service": 1, "name": "web"}),
    ]:
        serializer = serializer_class(data={**body, "description": TOO_LONG})
        assert not serializer.is_valid(), serializer_class
        assert serializer.errors == {"description": [MESSAGE]}, serializer_class
