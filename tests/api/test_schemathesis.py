"""schemathesis against the served schema, in-process: every operation of /api/schema/ is
called through the WSGI application (no network) by a hub admin with a token, over seeded
data, with generated valid and invalid input. No answer may be a 5xx, and every answer
must match the schema. AWS is moto, in-process.

Each example runs inside a savepoint that is rolled back afterwards, so every example sees
the same seeded data (a DELETE in one example does not starve the next)."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from docker_repos.models import RobotAccount
from hub.choices import Status
from hub.crypto import encrypt
from hub.wsgi import application
from identities.models import EcrIdentity

from .support import make_repo, token_for

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def wsgi_in_the_test_transaction():
    """Requests through the WSGI handler share the test's database transaction (as with
    Django's test client): the handler must not close the connection around a request."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def seeded(world, aws, settings, wsgi_in_the_test_transaction):
    """A hub admin's token and one real object for every kind of path parameter."""
    settings.HUB_API_RATE = "100000/min"
    repo = make_repo(world, in_ecr=True)
    make_repo(world, name="broken", status=Status.FAILED, status_detail="AWS said no")
    robot = RobotAccount.objects.create(
        repo=repo,
        name="drone-ci",
        status=Status.ACTIVE,
        iam_username="hub-robot-acp-web-drone-ci",
        access_key_id="AKIAROBOT",
        secret_access_key_encrypted=encrypt("robot-secret"),
    )
    admin = world.users["hub_admin"]
    EcrIdentity.objects.create(
        user=admin,
        iam_username="hub-user-hubadmin",
        status=Status.ACTIVE,
        iam_arn="arn:aws:iam::123456789012:user/platform-hub/hub-user-hubadmin",
        access_key_id="AKIAADMIN",
        secret_access_key_encrypted=encrypt("admin-secret"),
    )
    return {
        "token": token_for(admin),
        "path": {
            "shortname": "acp",
            "repo_id": repo.pk,
            "service_id": world.service.pk,
            "username": "member",
            "robot_id": robot.pk,
        },
    }


# Loaded once, at collection, from the application itself (the schema view needs no
# database). One test per operation.
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)


@schema.parametrize()
@schema.given(use_seeded=st.booleans())
@settings(
    max_examples=10,
    derandomize=True,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_no_server_errors_and_responses_match_the_schema(case, use_seeded, seeded):
    if use_seeded and case.path_parameters:
        # Half the examples address real objects; the rest whatever was generated.
        for name in case.path_parameters:
            case.path_parameters[name] = seeded["path"][name]
    with transaction.atomic():
        response = case.call(headers={"Authorization": f"Token {seeded['token']}"})
        transaction.set_rollback(True)
    case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])
