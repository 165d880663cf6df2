"""`Authorization: Token <token>` for the REST API."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from identities.authentication import ApiTokenAuthentication
from identities.models import ApiToken
from identities.services import api_token_create, api_token_revoke


def authenticate(header: str | None):
    extra = {"HTTP_AUTHORIZATION": header} if header is not None else {}
    request = Request(APIRequestFactory().get("/api/", **extra))
    return ApiTokenAuthentication().authenticate(request)


@pytest.fixture
def issued(world):
    api_token, token = api_token_create(user=world.users["member"], name="ci")
    return api_token, token


def test_valid_token_authenticates(world, issued):
    api_token, token = issued
    assert authenticate(f"Token {token}") == (world.users["member"], None)
    assert authenticate(f"token {token}") == (world.users["member"], None)
    api_token.refresh_from_db()
    assert api_token.last_used_at is not None


def test_last_used_is_written_at_most_once_a_minute(world, issued):
    api_token, token = issued
    authenticate(f"Token {token}")
    first = ApiToken.objects.get().last_used_at
    authenticate(f"Token {token}")
    assert ApiToken.objects.get().last_used_at == first
    ApiToken.objects.update(last_used_at=timezone.now() - timedelta(minutes=5))
    authenticate(f"Token {token}")
    assert ApiToken.objects.get().last_used_at > first - timedelta(seconds=1)
    assert ApiToken.objects.get().last_used_at >= first


def test_revoked_token_fails(world, issued):
    api_token, token = issued
    api_token_revoke(user=world.users["member"], token_id=api_token.pk)
    with pytest.raises(exceptions.AuthenticationFailed, match="Invalid or revoked token."):
        authenticate(f"Token {token}")


def test_token_of_an_inactive_user_fails(world, issued):
    _, token = issued
    world.users["member"].is_active = False
    world.users["member"].save()
    with pytest.raises(exceptions.AuthenticationFailed):
        authenticate(f"Token {token}")


def test_wrong_secret_with_a_real_prefix_fails(world, issued):
    _, token = issued
    head, _, secret = token.rpartition("_")
    forged = f"{head}_{'A' if secret[0] != 'A' else 'B'}{secret[1:]}"
    with pytest.raises(exceptions.AuthenticationFailed):
        authenticate(f"Token {forged}")


@pytest.mark.parametrize(
    "value",
    [
        "not-a-token",
        "hub_",
        "hub__secret",
        "hub_abc_",
        "other_abcdef012345_secret",
        "hub_000000000000_unknownprefix",
    ],
)
def test_malformed_or_unknown_tokens_fail(world, issued, value):
    with pytest.raises(exceptions.AuthenticationFailed, match="Invalid or revoked token."):
        authenticate(f"Token {value}")


@pytest.mark.parametrize("header", ["Token", "Token a b"])
def test_malformed_header_fails(db, header):
    with pytest.raises(exceptions.AuthenticationFailed, match="Malformed Authorization header."):
        authenticate(header)


@pytest.mark.parametrize("header", [None, "", "Bearer abc", "Basic dXNlcjpwdw=="])
def test_other_schemes_are_left_to_other_authenticators(db, header):
    assert authenticate(header) is None


def test_failed_authentication_names_the_scheme():
    assert ApiTokenAuthentication().authenticate_header(None) == "Token"
