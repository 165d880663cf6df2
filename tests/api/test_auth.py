"""Token and session authentication of the API."""

import io

import pytest
from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient

from identities.models import ApiToken
from identities.services import api_token_create, api_token_revoke
from projects.models import Service

from .matrix import assert_error_shape
from .support import API

ME = f"{API}me/"


def with_header(value) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=value)
    return client


def test_a_valid_token_authenticates_and_records_its_use(world):
    api_token, token = api_token_create(user=world.users["member"], name="ci")
    assert api_token.last_used_at is None
    response = with_header(f"Token {token}").get(ME)
    assert response.status_code == 200
    assert response.json()["username"] == "member"
    api_token.refresh_from_db()
    assert api_token.last_used_at is not None


def test_the_keyword_is_case_insensitive(world):
    _, token = api_token_create(user=world.users["member"], name="ci")
    assert with_header(f"token {token}").get(ME).status_code == 200


def test_a_revoked_token_is_401(world):
    user = world.users["member"]
    api_token, token = api_token_create(user=user, name="ci")
    api_token_revoke(user=user, token_id=api_token.pk)
    response = with_header(f"Token {token}").get(ME)
    assert response.status_code == 401
    error = assert_error_shape(response)
    assert error["code"] == "authentication_failed"
    assert error["message"] == "Invalid or revoked token."
    assert response["WWW-Authenticate"] == "Token"


def test_the_token_of_a_deactivated_account_is_401(world):
    user = world.users["member"]
    _, token = api_token_create(user=user, name="ci")
    user.is_active = False
    user.save()
    assert with_header(f"Token {token}").get(ME).status_code == 401


@pytest.mark.parametrize(
    "header",
    [
        "Token",
        "Token a b",
        "Token not-a-hub-token",
        "Token hub__",
        "Token hub_000000000000_" + "x" * 43,
        "Token hub_" + "é" * 10 + "_x",
    ],
)
def test_malformed_or_unknown_tokens_are_401(world, header):
    response = with_header(header).get(ME)
    assert response.status_code == 401
    assert assert_error_shape(response)["code"] == "authentication_failed"


def test_a_token_with_the_right_prefix_but_wrong_secret_is_401(world):
    _, token = api_token_create(user=world.users["member"], name="ci")
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert with_header(f"Token {forged}").get(ME).status_code == 401


@pytest.mark.parametrize("header", [None, "Bearer abc", "Basic bWVtYmVyOnB3"])
def test_no_token_is_401_not_authenticated(db, header):
    client = with_header(header) if header else APIClient()
    response = client.get(ME)
    assert response.status_code == 401
    assert assert_error_shape(response)["code"] == "not_authenticated"


def test_the_management_command_prints_a_token_that_works(world):
    out = io.StringIO()
    call_command("hub_api_token", "padmin", stdout=out)
    token = out.getvalue().strip().splitlines()[-1]
    assert with_header(f"Token {token}").get(f"{API}projects/acp/").status_code == 200
    assert ApiToken.objects.filter(user=world.users["project_admin"]).count() == 1


# --- the browser's session ----------------------------------------------------------------


def test_the_session_works_for_reads(world):
    browser = Client()
    browser.force_login(world.users["member"])
    assert browser.get(ME).json()["username"] == "member"


def test_unsafe_methods_with_a_session_need_the_csrf_token(world):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(world.users["project_admin"])
    url = f"{API}projects/acp/services/"
    refused = browser.post(url, {"name": "billing"}, content_type="application/json")
    assert refused.status_code == 403
    error = assert_error_shape(refused)
    assert error["code"] == "permission_denied" and "CSRF" in error["message"]
    assert not Service.objects.filter(name="billing").exists()

    browser.get("/projects/acp/")  # any page sets the CSRF cookie
    csrf = browser.cookies["csrftoken"].value
    created = browser.post(
        url, {"name": "billing"}, content_type="application/json", HTTP_X_CSRFTOKEN=csrf
    )
    assert created.status_code == 201


def test_a_token_needs_no_csrf_token(world):
    _, token = api_token_create(user=world.users["project_admin"], name="ci")
    client = APIClient(enforce_csrf_checks=True)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    response = client.post(f"{API}projects/acp/services/", {"name": "billing"}, format="json")
    assert response.status_code == 201
