"""Sign-in, the projects list and the addresses the user guide prints."""

import os
import subprocess
import sys

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from projects.choices import Role
from projects.models import Membership
from projects.permissions import project_access
from tests.helpers import page

User = get_user_model()


def test_sign_in_page_renders_for_anonymous(client, db):
    response = client.get(reverse("account_login"))
    assert response.status_code == 200
    body = page(response)
    assert 'name="login"' in body and 'name="password"' in body
    # Signed out, the navigation shows nothing of the hub.
    assert reverse("projects:list") not in body


@pytest.mark.parametrize("login", ["member", "member@example.com"])
def test_sign_in_with_username_or_email(client, world, login):
    response = client.post(reverse("account_login"), {"login": login, "password": "pw-member"})
    assert response.status_code == 302
    assert response["Location"] == reverse("projects:list")
    assert client.get(reverse("projects:list")).status_code == 200


def test_wrong_password_is_refused(client, world):
    response = client.post(reverse("account_login"), {"login": "member", "password": "nope"})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("projects:list")).status_code == 302


def test_sign_in_returns_to_the_page_asked_for(client, world):
    target = reverse("projects:services", args=["acp"])
    response = client.get(target)
    assert response["Location"] == f"{reverse('account_login')}?next={target}"
    response = client.post(response["Location"], {"login": "member", "password": "pw-member"})
    assert response["Location"] == target


def test_home_goes_to_the_projects(client, world):
    assert client.get("/")["Location"].startswith(reverse("account_login"))
    client.force_login(world.users["member"])
    assert client.get("/")["Location"] == reverse("projects:list")


def listed(client, user):
    client.force_login(user)
    response = client.get(reverse("projects:list"))
    assert response.status_code == 200
    return response, [(p.shortname, p.my_role) for p in response.context["projects"]]


def test_member_sees_only_their_projects_with_their_role(client, world):
    response, projects = listed(client, world.users["member"])
    assert projects == [("acp", Role.MEMBER)]
    body = page(response)
    assert 'href="/projects/acp/"' in body and 'href="/projects/other/"' not in body
    assert 'badge-grey">Member' in body
    assert "Hub admin" not in body
    assert reverse("projects:create") not in body


def test_project_admin_sees_their_role(client, world):
    Membership.objects.create(
        project=world.other, user=world.users["project_admin"], role=Role.MEMBER
    )
    response, projects = listed(client, world.users["project_admin"])
    assert projects == [("acp", Role.ADMIN), ("other", Role.MEMBER)]
    assert "Project admin" in page(response)


def test_non_member_sees_an_empty_list(client, world):
    response, projects = listed(client, world.users["non_member"])
    assert projects == []
    assert "You are not in any project yet" in page(response)


def test_hub_admin_sees_all_projects(client, world):
    response, projects = listed(client, world.users["hub_admin"])
    assert projects == [("acp", None), ("other", None)]
    body = page(response)
    assert body.count("Hub admin</span>") == 2
    assert reverse("projects:create") in body
    assert reverse("admin:index") in body


def test_hub_admin_who_is_also_a_member_sees_their_role(client, world):
    Membership.objects.create(project=world.project, user=world.users["hub_admin"], role=Role.ADMIN)
    _, projects = listed(client, world.users["hub_admin"])
    assert projects == [("acp", Role.ADMIN), ("other", None)]


def test_inactive_staff_is_no_hub_admin(client, world):
    """An inactive account cannot sign in, and is no hub admin for the services either."""

    hub_admin = world.users["hub_admin"]
    hub_admin.is_active = False
    hub_admin.save()
    assert not project_access(hub_admin, world.project).can_view
    response = client.post(
        reverse("account_login"), {"login": "hubadmin", "password": "pw-hubadmin"}
    )
    assert "_auth_user_id" not in client.session
    assert response.status_code in (200, 302)


@pytest.mark.parametrize(
    ("path", "target"),
    [("/projects/list", "/projects/"), ("/projects/detail/acp", "/projects/acp/")],
)
def test_legacy_guide_addresses_redirect(client, world, path, target):
    assert client.get(path)["Location"].startswith(reverse("account_login"))
    client.force_login(world.users["member"])
    response = client.get(path)
    assert response.status_code == 301
    assert response["Location"] == target
    assert client.get(response["Location"]).status_code == 200


def test_legacy_detail_address_still_hides_other_projects(client, world):
    client.force_login(world.users["non_member"])
    response = client.get("/projects/detail/acp", follow=True)
    assert response.status_code == 404


SIGNUP = {
    "email": "new@example.com",
    "username": "newbie",
    "password1": "a-Long-and-unusual-pass-42",
    "password2": "a-Long-and-unusual-pass-42",
}


def test_local_sign_up_when_open(client, db, settings):
    settings.HUB_LOCAL_SIGNUP = True
    assert 'name="password1"' in page(client.get(reverse("account_signup")))
    response = client.post(reverse("account_signup"), SIGNUP)
    assert response.status_code == 302
    assert User.objects.filter(username="newbie").exists()


def test_local_sign_up_can_be_closed(client, db, settings):
    settings.HUB_LOCAL_SIGNUP = False
    response = client.get(reverse("account_signup"))
    body = page(response)
    assert "Sign Up Closed" in body
    assert 'name="password1"' not in body
    client.post(reverse("account_signup"), SIGNUP)
    assert not User.objects.filter(username="newbie").exists()


def test_sign_out(client, world):
    client.force_login(world.users["member"])
    response = client.post(reverse("account_logout"))
    assert response.status_code == 302
    assert client.get(reverse("projects:list")).status_code == 302


def test_openid_connect_provider_comes_from_the_environment():
    """HUB_OIDC_* configure allauth's OpenID Connect provider (e.g. a Keycloak realm)."""

    env = {
        **os.environ,
        "HUB_OIDC_SERVER_URL": "https://sso.example.com/realms/acp",
        "HUB_OIDC_CLIENT_ID": "platform-hub",
        "HUB_OIDC_CLIENT_SECRET": "s3cret",
        "HUB_OIDC_NAME": "ACP Keycloak",
        "DJANGO_SETTINGS_MODULE": "hub.settings",
    }
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "app = settings.SOCIALACCOUNT_PROVIDERS['openid_connect']['APPS'][0]; "
        "print(app['provider_id'], app['name'], app['client_id'], "
        "app['settings']['server_url'])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "keycloak ACP Keycloak platform-hub https://sso.example.com/realms/acp"


def test_sign_in_page_offers_the_identity_provider(client, db, settings):
    settings.SOCIALACCOUNT_PROVIDERS = {
        "openid_connect": {
            "APPS": [
                {
                    "provider_id": "keycloak",
                    "name": "ACP Keycloak",
                    "client_id": "platform-hub",
                    "secret": "s3cret",
                    "settings": {"server_url": "https://sso.example.com/realms/acp"},
                }
            ]
        }
    }
    body = client.get(reverse("account_login")).content.decode()
    assert "ACP Keycloak" in body
    assert "/accounts/oidc/keycloak/login/" in body
