"""The Connected Identities page: your own ECR credentials, the registry, the commands."""

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from hub import live
from hub.choices import Status
from hub.models import AuditEvent
from identities.models import EcrIdentity
from identities.selectors import ACCOUNT_CACHE_KEY
from tests.access_helpers import fake_identity
from tests.helpers import assert_shows, live_polls, page, shown_page

PAGE = "/identities/"
REGISTRY = "123456789012.dkr.ecr.eu-west-2.amazonaws.com"
SECRET = "sEcReTiDeNtItYkEy0123456789abcdefGHIJKLm"


def test_without_credentials_the_page_offers_to_create_them(world, client, aws):
    cache.delete(ACCOUNT_CACHE_KEY)  # the account comes from STS (moto's) this time
    client.force_login(world.users["member"])
    response = client.get(PAGE)
    assert response.status_code == 200
    assert_shows(response, "Amazon ECR")
    assert_shows(response, "Create my credentials")
    assert reverse("identities:ecr-create") in page(response)
    # The region, the registry (the account from STS) and the guide's commands for CLI v2.
    body = page(response)
    assert "eu-west-2" in body and REGISTRY in body
    assert "aws configure --profile acp-ecr" in body
    assert "export AWS_PROFILE=acp-ecr" in body
    assert (
        f"aws ecr get-login-password --region eu-west-2 | docker login --username AWS "
        f"--password-stdin {REGISTRY}"
    ) in body


def test_create_my_credentials(world, client, django_capture_on_commit_callbacks):
    client.force_login(world.users["member"])
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(reverse("identities:ecr-create"))
    assert response.status_code == 302
    identity = EcrIdentity.objects.get(user=world.users["member"])
    assert identity.status == Status.PENDING and len(callbacks) == 1
    body = page(client.get(PAGE))
    # Pending: the identity part refreshes itself, 204 (nothing swapped) while unchanged.
    poll = live_polls(body)["ecr-identity"]
    assert poll == f"{reverse('identities:ecr-status')}?v={live.version_of(identity)}"
    assert client.get(poll).status_code == 204
    assert "hub-user-member" in body
    # The notice waits for it: it goes once the identity has settled (hub.js).
    assert 'data-until-settled="#ecr-identity"' in body
    EcrIdentity.objects.filter(pk=identity.pk).update(
        status=Status.FAILED, updated_at=timezone.now()
    )
    settled = client.get(poll)
    assert settled.status_code == 200 and live_polls(page(settled)) == {}


def test_an_active_identity_shows_its_key_id_and_hides_the_secret(world, client, aws):
    identity = fake_identity(world.users["member"], secret=SECRET)
    client.force_login(world.users["member"])
    body = shown_page(client.get(PAGE))
    assert identity.iam_username in body and identity.access_key_id in body
    assert SECRET not in body
    assert reverse("identities:ecr-reveal") in body and reverse("identities:ecr-rotate") in body
    assert live_polls(body) == {}


def test_reveal_shows_the_secret_once_uncached_and_audited(world, client, aws):
    fake_identity(world.users["member"], secret=SECRET)
    client.force_login(world.users["member"])
    response = client.post(reverse("identities:ecr-reveal"))
    secret_url = reverse("identities:ecr-secret")
    assert response.status_code == 302 and response["Location"] == secret_url
    stashed = str(client.session.items())
    assert "hub_oneshot" in stashed and SECRET not in stashed, "kept encrypted"
    response = client.get(secret_url)
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store, private"
    assert SECRET in page(response)
    assert f"AWS Secret Access Key [None]: {SECRET}" in page(response)
    reveals = AuditEvent.objects.filter(action="ecr_identity.credentials_revealed")
    assert reveals.count() == 1
    # Reloaded: shown once already, Reveal again offered; no second reveal recorded.
    again = client.get(secret_url)
    assert again.status_code == 200 and SECRET not in page(again)
    assert_shows(again, "This secret was shown once")
    assert reverse("identities:ecr-reveal") in page(again)
    assert reveals.count() == 1
    hidden = shown_page(client.get(PAGE))
    assert "hub-user-member" in hidden and SECRET not in hidden
    # The reveal's own address opened as a page: the hub's page, not a blank 405.
    opened = client.get(reverse("identities:ecr-reveal"))
    assert opened.status_code == 405 and f'href="{PAGE}"' in page(opened)


@pytest.mark.parametrize("viewer", ["project_admin", "hub_admin", "non_member"])
def test_nobody_sees_another_persons_identity(world, client, viewer, aws):
    theirs = fake_identity(world.users["member"], secret=SECRET)
    client.force_login(world.users[viewer])
    for response in (
        client.get(PAGE),
        client.get(reverse("identities:ecr-status")),
        client.post(reverse("identities:ecr-reveal"), follow=True),
    ):
        body = shown_page(response)  # their own Connected Identities, with none yet
        assert "You have no ECR credentials yet." in body
        assert theirs.access_key_id not in body and SECRET not in body
        assert theirs.iam_username not in body
    assert not AuditEvent.objects.filter(action="ecr_identity.credentials_revealed").exists()


def test_a_failed_identity_shows_why_and_offers_retry(world, client, aws):
    identity = fake_identity(world.users["member"], status=Status.FAILED)
    EcrIdentity.objects.filter(pk=identity.pk).update(status_detail="IAM said no")
    client.force_login(world.users["member"])
    body = page(client.get(PAGE))
    assert "IAM said no" in body and reverse("identities:ecr-retry") in body
