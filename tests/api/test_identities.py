"""/api/v1/me/identities/ecr/: a person's own ECR identity, and nobody else's."""

import pytest

from hub.choices import Status
from hub.crypto import encrypt
from hub.models import AuditEvent
from identities.models import EcrIdentity

from .matrix import SIGNED_IN, Endpoint, assert_error_shape
from .support import API, Url

ECR = f"{API}me/identities/ecr/"


def identity(user, *, status=Status.ACTIVE, key="AKIAEXAMPLE", secret="s3cret"):
    return EcrIdentity.objects.create(
        user=user,
        iam_username=f"hub-user-{user.username}",
        status=status,
        iam_arn=f"arn:aws:iam::123456789012:user/platform-hub/hub-user-{user.username}",
        access_key_id=f"{key}{user.pk}" if key else "",
        secret_access_key_encrypted=encrypt(f"{secret}-{user.username}") if key else "",
    )


def everyone_has_one(path: str) -> Url:
    """Every person of `world` has an active identity (each role reads its own)."""

    def build(world):
        for user in world.users.values():
            identity(user)
        return path

    return Url(f"{path} (everyone has one)", build)


IDENTITY_ENDPOINTS = [
    Endpoint("get", everyone_has_one(ECR), SIGNED_IN(200)),
    Endpoint("post", ECR, SIGNED_IN(202)),
    Endpoint("get", everyone_has_one(f"{ECR}credentials/"), SIGNED_IN(200), changes=True),
    Endpoint("post", everyone_has_one(f"{ECR}rotate/"), SIGNED_IN(202)),
]


def test_no_identity_yet_is_404(api):
    response = api("member").get(ECR)
    assert response.status_code == 404
    assert "no ECR identity" in assert_error_shape(response)["message"]


def test_post_creates_the_identity_once(api, world):
    client = api("member")
    first = client.post(ECR)
    assert first.status_code == 202
    body = first.json()
    assert body["status"] == "pending"
    assert body["iam_username"] == "hub-user-member"
    assert body["access_key_id"] == ""
    assert body["region"]
    again = client.post(ECR)
    assert again.status_code == 202
    assert EcrIdentity.objects.filter(user=world.users["member"]).count() == 1


def test_get_shows_the_registry_from_the_identity(api, world):
    identity(world.users["member"])
    body = api("member").get(ECR).json()
    assert body == {
        "status": "active",
        "status_detail": "",
        "iam_username": "hub-user-member",
        "access_key_id": f"AKIAEXAMPLE{world.users['member'].pk}",
        "region": "eu-west-2",
        "registry": "123456789012.dkr.ecr.eu-west-2.amazonaws.com",
    }


def test_credentials_are_the_owners_only_and_audited(api, world):
    identity(world.users["member"])
    identity(world.users["project_admin"])
    response = api("member").get(f"{ECR}credentials/")
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert response.json() == {
        "access_key_id": f"AKIAEXAMPLE{world.users['member'].pk}",
        "secret_access_key": "s3cret-member",
        "region": "eu-west-2",
        "registry": "123456789012.dkr.ecr.eu-west-2.amazonaws.com",
    }
    event = AuditEvent.objects.get(action="ecr_identity.credentials_revealed")
    assert event.actor == world.users["member"]
    assert "s3cret" not in str(event.detail)


@pytest.mark.parametrize("state", [Status.PENDING, Status.FAILED, Status.REMOVING])
def test_credentials_of_an_identity_that_is_not_active_are_409(api, world, state):
    identity(world.users["member"], status=state)
    response = api("member").get(f"{ECR}credentials/")
    assert response.status_code == 409
    assert assert_error_shape(response)["code"] == "conflict"


def test_credentials_and_rotate_without_an_identity_are_404(api):
    client = api("member")
    assert client.get(f"{ECR}credentials/").status_code == 404
    assert client.post(f"{ECR}rotate/").status_code == 404


def test_rotate_asks_for_a_new_key(api, world):
    identity(world.users["member"])
    response = api("member").post(f"{ECR}rotate/")
    assert response.status_code == 202
    assert response.json()["status"] == "pending"
    row = EcrIdentity.objects.get(user=world.users["member"])
    assert row.rotation_requested
    # A second rotation while the first is under way is a wrong state.
    again = api("member").post(f"{ECR}rotate/")
    assert again.status_code == 409


def test_identity_endpoints_take_no_body(api, world):
    """Nothing in a body picks someone else's identity: a field is refused."""
    response = api("member").post(ECR, {"user": "padmin"}, format="json")
    assert response.status_code == 400
    assert assert_error_shape(response)["fields"] == {
        "user": ["Unknown field: this endpoint does not accept it."]
    }
    assert not EcrIdentity.objects.exists()
