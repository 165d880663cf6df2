"""The admin cannot undo offboarding: a membership cannot be moved to another person or
project (the first person would keep their repository access), and an API token's
revocation cannot be cleared; revoking there is audited."""

import pytest
from django.urls import reverse

from hub.models import AuditEvent
from identities.models import ApiToken
from identities.services import api_token_authenticate, api_token_create, api_token_revoke
from projects.choices import Role
from projects.models import Membership
from tests.helpers import page
from tests.hub.test_admin import admin_form_data


def test_a_membership_cannot_be_moved_to_another_person_or_project(client, superuser, world):
    membership = Membership.objects.get(project=world.project, user=world.users["member"])
    url = reverse("admin:projects_membership_change", args=[membership.pk])
    client.force_login(superuser)
    assert 'name="user"' not in page(client.get(url))  # shown, not editable

    response = client.post(
        url, {"user": world.users["non_member"].pk, "project": world.other.pk, "role": Role.ADMIN}
    )

    assert response.status_code == 302
    membership.refresh_from_db()
    assert (membership.user, membership.project, membership.role) == (
        world.users["member"],
        world.project,
        Role.ADMIN,
    )  # the role is still editable
    # A new membership still picks its person and project.
    response = client.post(
        reverse("admin:projects_membership_add"),
        {"user": world.users["non_member"].pk, "project": world.other.pk, "role": Role.MEMBER},
    )
    assert response.status_code == 302
    assert Membership.objects.filter(user=world.users["non_member"], project=world.other).exists()


def test_a_projects_member_rows_cannot_be_given_to_another_person(client, superuser, world):
    client.force_login(superuser)
    url = reverse("admin:projects_project_change", args=[world.project.pk])
    data = admin_form_data(client.get(url))
    member = Membership.objects.get(project=world.project, user=world.users["member"])
    total = int(data["memberships-TOTAL_FORMS"])
    index = next(i for i in range(total) if int(data[f"memberships-{i}-id"]) == member.pk)
    data[f"memberships-{index}-user"] = world.users["non_member"].pk  # the move
    data[f"memberships-{index}-role"] = Role.ADMIN
    # A new row still picks its person.
    data["memberships-TOTAL_FORMS"] = total + 1
    data[f"memberships-{total}-user"] = world.users["other_admin"].pk
    data[f"memberships-{total}-role"] = Role.MEMBER

    response = client.post(url, data)

    assert response.status_code == 302, response.context and response.context["errors"]
    member.refresh_from_db()
    assert (member.user, member.project, member.role) == (
        world.users["member"],
        world.project,
        Role.ADMIN,
    )
    assert set(world.project.memberships.values_list("user__username", flat=True)) == {
        "member",
        "padmin",
        "otheradmin",
    }


# --- API tokens -------------------------------------------------------------------------


@pytest.fixture
def revoked_token(world):
    api_token, _token = api_token_create(user=world.users["member"], name="ci")
    api_token_revoke(user=world.users["member"], token_id=api_token.pk)
    api_token.refresh_from_db()
    return api_token


def test_clearing_revoked_at_in_the_admin_does_not_revive_a_token(client, world, revoked_token):
    client.force_login(world.users["hub_admin"])  # staff, not superuser
    url = reverse("admin:identities_apitoken_change", args=[revoked_token.pk])
    data = admin_form_data(client.get(url))
    data.pop("revoked_at", None)
    # The admin's date and time boxes of revoked_at, emptied.
    response = client.post(url, {**data, "name": "renamed", "revoked_at_0": "", "revoked_at_1": ""})
    assert response.status_code == 302
    token = ApiToken.objects.get(pk=revoked_token.pk)
    assert (token.name, token.revoked_at) == ("renamed", revoked_token.revoked_at)
    event = AuditEvent.objects.get(action="api_token.updated")  # the edit is audited too
    assert event.actor == world.users["hub_admin"]
    assert event.detail == {"via": "admin", "changed": ["name"]}


def test_the_admin_revoke_action_revokes_through_the_service_and_audits(client, world):
    hub_admin, member = world.users["hub_admin"], world.users["member"]
    live, token = api_token_create(user=member, name="ci")
    done, _ = api_token_create(user=member, name="old")
    api_token_revoke(user=member, token_id=done.pk)
    done.refresh_from_db()
    client.force_login(hub_admin)

    response = client.post(
        reverse("admin:identities_apitoken_changelist"),
        {"action": "revoke_selected", "_selected_action": [live.pk, done.pk]},
        follow=True,
    )

    assert "1 revoked." in page(response)
    live.refresh_from_db()
    assert live.revoked_at is not None and api_token_authenticate(token) is None
    assert ApiToken.objects.get(pk=done.pk).revoked_at == done.revoked_at  # untouched
    event = AuditEvent.objects.filter(action="api_token.revoked").latest("pk")
    assert (event.actor, event.target_id, event.detail) == (
        hub_admin,
        str(live.pk),
        {"name": "ci", "owner": "member"},
    )
    assert AuditEvent.objects.filter(action="api_token.revoked").count() == 2


def test_deleting_a_token_in_the_admin_is_audited(client, world, revoked_token):
    client.force_login(world.users["hub_admin"])
    response = client.post(
        reverse("admin:identities_apitoken_delete", args=[revoked_token.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert not ApiToken.objects.filter(pk=revoked_token.pk).exists()
    event = AuditEvent.objects.get(action="api_token.deleted")
    assert (event.actor, event.detail) == (world.users["hub_admin"], {"via": "admin", "name": "ci"})
