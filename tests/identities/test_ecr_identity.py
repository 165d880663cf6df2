"""A person's ECR identity: one IAM user for every repository they may use."""

import json

import pytest
from django.core.cache import cache

from hub.aws import AwsTransientError
from hub.choices import Status
from hub.crypto import decrypt
from hub.exceptions import Conflict, NotFound
from hub.models import AuditEvent
from identities import selectors, services
from identities.iam import IAM_PATH, LOGIN_POLICY, LOGIN_POLICY_NAME
from identities.models import EcrIdentity, identity_iam_username
from tests.access_helpers import converging, iam_keys, iam_users, own_client, send_enqueued


@pytest.mark.parametrize(
    ("username", "expected"),
    [
        ("alice", "hub-user-alice"),
        ("alice.smith@example.com", "hub-user-alice.smith@example.com"),
        ("a_b-c+d", "hub-user-a_b-c+d"),
    ],
)
def test_iam_user_names_keep_usernames_iam_allows(username, expected):
    assert identity_iam_username(username) == expected


@pytest.mark.parametrize("username", ["jöhn", "a b", "x" * 150, "o'brien"])
def test_other_usernames_are_made_safe_and_kept_apart_by_a_hash(username):
    name = identity_iam_username(username)
    assert len(name) <= 64
    assert all(c.isascii() and (c.isalnum() or c in "+=,.@_-") for c in name)
    assert name != identity_iam_username(username + "2")


def test_names_differing_only_in_case_get_different_iam_users(make_user, db):
    lower, upper = make_user("alice"), make_user("Alice")
    first = services.ecr_identity_request(user=lower)
    second = services.ecr_identity_request(user=upper)
    assert first.iam_username == "hub-user-alice"
    assert second.iam_username.lower() != first.iam_username.lower()


@pytest.fixture
def person(world):
    return world.users["member"]


@pytest.fixture
def identity(person, aws, django_capture_on_commit_callbacks) -> EcrIdentity:
    with converging(django_capture_on_commit_callbacks):
        services.ecr_identity_request(user=person)
    identity = EcrIdentity.objects.get(user=person)
    assert identity.status == Status.ACTIVE, identity.status_detail
    return identity


def test_requesting_creates_a_pending_identity_and_its_task(
    person, db, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        identity = services.ecr_identity_request(user=person)
    assert identity.status == Status.PENDING and identity.iam_username == "hub-user-member"
    assert len(callbacks) == 1
    assert AuditEvent.objects.filter(action="ecr_identity.requested").count() == 1
    # Asking again returns the same identity and sends nothing.
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert services.ecr_identity_request(user=person) == identity
    assert callbacks == []


def test_the_identity_is_an_iam_user_allowed_only_to_log_in(identity):
    iam = own_client("iam")
    user = iam.get_user(UserName="hub-user-member")["User"]
    assert user["Path"] == IAM_PATH and identity.iam_arn == user["Arn"]
    tags = {t["Key"]: t["Value"] for t in iam.list_user_tags(UserName="hub-user-member")["Tags"]}
    assert tags == {"managed-by": "platform-hub", "hub-kind": "person", "hub-username": "member"}
    document = iam.get_user_policy(UserName="hub-user-member", PolicyName=LOGIN_POLICY_NAME)[
        "PolicyDocument"
    ]
    document = json.loads(document) if isinstance(document, str) else document
    assert document == LOGIN_POLICY
    assert iam_keys("hub-user-member") == [identity.access_key_id]


def test_only_the_owner_reveals_and_it_is_audited(identity, person, world):
    key_id, secret = services.ecr_identity_reveal(user=person)
    assert (key_id, secret) == (
        identity.access_key_id,
        decrypt(identity.secret_access_key_encrypted),
    )
    event = AuditEvent.objects.get(action="ecr_identity.credentials_revealed")
    assert event.actor == person and secret not in json.dumps(event.detail)
    # Everyone else only ever reaches their own (missing) identity.
    with pytest.raises(NotFound):
        services.ecr_identity_reveal(user=world.users["hub_admin"])


def test_pending_credentials_are_not_revealed(person, db):
    services.ecr_identity_request(user=person)
    with pytest.raises(Conflict):
        services.ecr_identity_reveal(user=person)


def test_rotation_deletes_the_old_key_and_stores_the_new_one(
    identity, person, django_capture_on_commit_callbacks
):
    old_key, old_secret = services.ecr_identity_reveal(user=person)
    with converging(django_capture_on_commit_callbacks):
        services.ecr_identity_rotate(user=person)
    identity.refresh_from_db()
    assert identity.status == Status.ACTIVE and not identity.rotation_requested
    new_key, new_secret = services.ecr_identity_reveal(user=person)
    assert new_key != old_key and new_secret != old_secret
    assert iam_keys("hub-user-member") == [new_key]
    assert AuditEvent.objects.filter(action="ecr_identity.rotated").exists()


def test_only_active_credentials_are_rotated(person, db):
    services.ecr_identity_request(user=person)
    with pytest.raises(Conflict):
        services.ecr_identity_rotate(user=person)


def test_deactivating_the_account_deletes_its_keys(
    identity, person, django_capture_on_commit_callbacks
):
    with converging(django_capture_on_commit_callbacks):
        person.is_active = False
        person.save()  # as the admin's "active" checkbox does
    identity.refresh_from_db()
    assert iam_keys("hub-user-member") == []
    assert identity.status == Status.FAILED
    assert identity.access_key_id == "" and identity.secret_access_key_encrypted == ""
    assert "deactivated" in identity.status_detail
    # The IAM user stays: repository policies that name it stay valid.
    assert "hub-user-member" in iam_users()
    assert AuditEvent.objects.filter(action="ecr_identity.keys_deleted").exists()
    # Saving the inactive account again sends nothing more.
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        person.save()
    assert callbacks == []


def test_a_deactivated_account_gets_no_credentials(person, aws, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as sent:
        identity = services.ecr_identity_request(user=person)
    type(person).objects.filter(pk=person.pk).update(is_active=False)
    send_enqueued(django_capture_on_commit_callbacks, sent)
    identity.refresh_from_db()
    assert identity.status == Status.FAILED and "deactivated" in identity.status_detail
    assert iam_users() == set()


def test_a_reactivated_account_gets_new_keys_on_retry(
    identity, person, django_capture_on_commit_callbacks
):
    with converging(django_capture_on_commit_callbacks):
        person.is_active = False
        person.save()
    person.is_active = True
    person.save()
    with converging(django_capture_on_commit_callbacks):
        services.ecr_identity_retry(user=person)
    identity.refresh_from_db()
    assert identity.status == Status.ACTIVE
    assert iam_keys("hub-user-member") == [identity.access_key_id]


def test_a_deleted_person_leaves_no_iam_user(identity, person, django_capture_on_commit_callbacks):
    with converging(django_capture_on_commit_callbacks):
        person.delete()
    assert iam_users() == set()


def test_the_registry_comes_from_a_known_arn_or_else_from_sts(identity, world, aws):
    registry = selectors.ecr_registry(identity)
    assert registry.host == "123456789012.dkr.ecr.eu-west-2.amazonaws.com"
    EcrIdentity.objects.all().delete()

    cache.delete(selectors.ACCOUNT_CACHE_KEY)
    assert selectors.ecr_registry(None).account_id == "123456789012"  # moto's STS


def test_an_unreachable_sts_leaves_the_registry_blank(db, settings, monkeypatch):
    cache.delete(selectors.ACCOUNT_CACHE_KEY)

    def unreachable():
        raise AwsTransientError("AWS unreachable")

    monkeypatch.setattr(selectors.sts, "caller_account_id", unreachable)
    try:
        registry = selectors.ecr_registry(None)
        assert registry.account_id == "" and registry.host == ""
        # Remembered for a minute, so pages stay fast while STS is down.
        monkeypatch.setattr(selectors.sts, "caller_account_id", lambda: pytest.fail("asked"))
        assert selectors.ecr_registry(None).host == ""
    finally:
        cache.delete(selectors.ACCOUNT_CACHE_KEY)
