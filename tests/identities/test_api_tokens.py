"""Personal API tokens: created by the command or the page, shown once, stored hashed."""

import hashlib
import re
from io import StringIO

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.urls import reverse

from hub.models import AuditEvent
from identities import services
from identities.models import ApiToken
from tests.helpers import assert_shows, page

TOKEN = re.compile(r"hub_[0-9a-f]{12}_[A-Za-z0-9_-]{43}")


def everything_stored() -> str:
    """Every value of every row of every table, as text."""
    values = []
    for model in apps.get_models():
        for row in model._base_manager.values_list():
            values += [str(v) for v in row]
    return "\n".join(values)


def run_command(*args) -> str:
    out = StringIO()
    call_command("hub_api_token", *args, stdout=out)
    return out.getvalue()


def test_command_prints_the_token_alone_on_its_last_line(world):
    output = run_command("member")
    token = output.splitlines()[-1]
    assert TOKEN.fullmatch(token), output
    api_token = ApiToken.objects.get(user=world.users["member"])
    assert api_token.name == "created from the command line"
    assert token.startswith(f"hub_{api_token.prefix}_")
    assert services.api_token_authenticate(token) == world.users["member"]


def test_command_takes_a_name(world):
    token = run_command("member", "--name", "drone-ci").splitlines()[-1]
    api_token = ApiToken.objects.get()
    assert api_token.name == "drone-ci"
    assert api_token.digest == hashlib.sha256(token.encode()).hexdigest()


def test_only_the_digest_is_stored(world):
    token = run_command("member").splitlines()[-1]
    secret = token.split("_", 2)[2]
    stored = everything_stored()
    assert token not in stored
    assert secret not in stored
    assert hashlib.sha256(token.encode()).hexdigest() in stored


def test_every_token_is_different(world):
    tokens = {run_command("member").splitlines()[-1] for _ in range(3)}
    assert len(tokens) == 3


@pytest.mark.parametrize("username", ["ghost", "member"])
def test_command_refuses_unknown_and_inactive_users(world, username):
    world.users["member"].is_active = False
    world.users["member"].save()
    with pytest.raises(CommandError, match=f"No active user '{username}'"):
        run_command(username)
    assert not ApiToken.objects.exists()


# --- The API tokens page ----------------------------------------------------------------


def test_page_creates_a_token_shown_once(client, world):
    client.force_login(world.users["member"])
    response = client.post(reverse("identities:api-tokens"), {"name": "drone-ci"})
    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    [token] = TOKEN.findall(page(response))
    assert services.api_token_authenticate(token) == world.users["member"]
    api_token = ApiToken.objects.get(user=world.users["member"])
    assert api_token.name == "drone-ci"
    assert token not in everything_stored()
    assert token not in str(dict(client.session))

    listing = page(client.get(reverse("identities:api-tokens")))
    assert token not in listing
    assert token.split("_", 2)[2] not in listing
    assert f"hub_{api_token.prefix}_…" in listing
    assert "drone-ci" in listing


def test_page_needs_a_name(client, world):
    client.force_login(world.users["member"])
    response = client.post(reverse("identities:api-tokens"), {"name": "  "})
    assert response.status_code == 400
    assert_shows(response, "Give the token a name.")
    assert not ApiToken.objects.exists()
    assert not TOKEN.search(page(response))


def test_page_refuses_a_long_name(client, world):
    client.force_login(world.users["member"])
    response = client.post(reverse("identities:api-tokens"), {"name": "x" * 101})
    assert response.status_code == 400
    assert_shows(response, "The name is too long.")
    assert not ApiToken.objects.exists()


def test_page_lists_only_my_tokens(client, world):
    services.api_token_create(user=world.users["project_admin"], name="padmin-secret-ci")
    services.api_token_create(user=world.users["member"], name="member-ci")
    client.force_login(world.users["member"])
    response = client.get(reverse("identities:api-tokens"))
    assert response.status_code == 200
    assert [t.name for t in response.context["tokens"]] == ["member-ci"]
    assert "member-ci" in page(response) and "padmin-secret-ci" not in page(response)


def test_revoke(client, world):
    api_token, token = services.api_token_create(user=world.users["member"], name="ci")
    client.force_login(world.users["member"])
    response = client.post(reverse("identities:api-token-revoke", args=[api_token.pk]))
    assert response["Location"] == reverse("identities:api-tokens")
    api_token.refresh_from_db()
    assert api_token.revoked_at is not None
    assert services.api_token_authenticate(token) is None
    listing = client.get(response["Location"])
    assert_shows(listing, "Token ci revoked.")
    assert "Revoked" in page(listing)
    assert reverse("identities:api-token-revoke", args=[api_token.pk]) not in page(listing)


@pytest.mark.parametrize("who", ["project_admin", "hub_admin"])
def test_nobody_revokes_someone_elses_token(client, world, who):
    api_token, token = services.api_token_create(user=world.users["member"], name="ci")
    events = AuditEvent.objects.count()
    client.force_login(world.users[who])
    response = client.post(reverse("identities:api-token-revoke", args=[api_token.pk]), follow=True)
    assert_shows(response, "No such token.")
    api_token.refresh_from_db()
    assert api_token.revoked_at is None
    assert services.api_token_authenticate(token) == world.users["member"]
    assert AuditEvent.objects.count() == events


def test_revoking_twice_or_a_missing_token(client, world):
    api_token, _ = services.api_token_create(user=world.users["member"], name="ci")
    services.api_token_revoke(user=world.users["member"], token_id=api_token.pk)
    revoked_at = ApiToken.objects.get().revoked_at
    client.force_login(world.users["member"])
    for token_id in (api_token.pk, api_token.pk + 1000):
        response = client.post(reverse("identities:api-token-revoke", args=[token_id]), follow=True)
        assert_shows(response, "No such token.")
    assert ApiToken.objects.get().revoked_at == revoked_at


def test_token_changes_are_audited(client, world):
    member = world.users["member"]
    client.force_login(member)
    client.post(reverse("identities:api-tokens"), {"name": "drone-ci"})
    api_token = ApiToken.objects.get()
    client.post(reverse("identities:api-token-revoke", args=[api_token.pk]))
    events = list(AuditEvent.objects.order_by("pk"))
    assert [
        (e.action, e.actor, e.target_type, e.target_id, e.target_repr, e.project_id, e.detail)
        for e in events
    ] == [
        (
            "api_token.created",
            member,
            "apitoken",
            str(api_token.pk),
            str(api_token),
            None,
            {"name": "drone-ci"},
        ),
        (
            "api_token.revoked",
            member,
            "apitoken",
            str(api_token.pk),
            str(api_token),
            None,
            {"name": "drone-ci"},
        ),
    ]
    assert api_token.prefix in events[0].target_repr


def test_command_token_creation_is_audited(world):
    run_command("member", "--name", "cli")
    event = AuditEvent.objects.get()
    assert (event.action, event.actor, event.detail) == (
        "api_token.created",
        world.users["member"],
        {"name": "cli"},
    )
