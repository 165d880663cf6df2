"""The admin cannot undo offboarding: a membership cannot be moved to another person or
project (the first person would keep their repository access), and an API token's
revocation cannot be cleared; revoking there is audited."""

import pytest
from django.urls import reverse

from projects.choices import Role
from projects.models import Membership
from tests.helpers import page
from tests.hub.test_admin import admin_form_data


@pytest.fixture
def superuser(world):
    user = world.users["hub_admin"]
    user.is_superuser = True
    user.save(update_fields=["is_superuser"])
    return user


def test_a_membership_cannot_be_moved_to_another_person_or_project(client, superuser, world):
    membership = Membership.objects.get(project=world.project, user=world.users["member"])
    url = reverse("admin:projects_membership_change", args=[membership.pk])
    client.force_login(superuser)
    assert 'name="user"' not in page(client.get(url))  # shown, not editable

    response = client.post(url, {"user": world.users["non_member"].pk,
                                 "project": world.other.pk, "role": Role.ADMIN})

    assert response.status_code == 302
    membership.refresh_from_db()
    assert (membership.user, membership.project, membership.role) == (
        world.users["member"], world.project, Role.ADMIN)  # the role is still editable
    # A new membership still picks its person and project.
    response = client.post(reverse("admin:projects_membership_add"),
                           {"user": world.users["non_member"].pk, "project": world.other.pk,
                            "role": Role.MEMBER})
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
        world.users["member"], world.project, Role.ADMIN)
    assert set(world.project.memberships.values_list("user__username", flat=True)) == {
        "member", "padmin", "otheradmin"}
