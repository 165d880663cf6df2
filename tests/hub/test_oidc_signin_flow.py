"""Sign-in through the OpenID provider, driven through allauth's own flow without a
browser: the provider's claims become a SocialLogin (the openid_connect provider's
`sociallogin_from_response`) which `complete_social_login` signs in, links or signs up,
exactly as the callback view does after the token and userinfo requests."""

import pytest
from allauth.account.models import EmailAddress
from allauth.core import context
from allauth.socialaccount.adapter import get_adapter
from allauth.socialaccount.helpers import complete_social_login
from allauth.socialaccount.models import SocialAccount
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware

from identities import services as identity_services

User = get_user_model()


@pytest.fixture
def oidc(settings):
    settings.SOCIALACCOUNT_PROVIDERS = {
        "openid_connect": {
            "APPS": [
                {
                    "provider_id": "keycloak",
                    "name": "Keycloak",
                    "client_id": "hub",
                    "secret": "s",
                    "settings": {"server_url": "http://127.0.0.1:9/realms/platform"},
                }
            ]
        }
    }


def provider_sign_in(rf, claims: dict):
    """The provider answered with `claims` (ID token and userinfo): the request after
    allauth's flow, and the response it gives."""
    request = rf.get("/accounts/oidc/keycloak/login/callback/")
    SessionMiddleware(lambda r: None).process_request(request)
    MessageMiddleware(lambda r: None).process_request(request)
    request.user = AnonymousUser()
    with context.request_context(request):
        provider = get_adapter().get_provider(request, "keycloak")
        try:
            login = provider.sociallogin_from_response(
                request, {"userinfo": claims, "id_token": claims}
            )
            login.state = {"process": "login"}
            response = complete_social_login(request, login)
        except Exception as exc:  # ImmediateHttpResponse: what the middleware answers
            response = getattr(exc, "response", None)
            if response is None:
                raise
    return request, response


def signed_in_as(request):
    return request.session.get("_auth_user_id")


JANE = {
    "sub": "sub-jane",
    "preferred_username": "jane",
    "email": "jane@corp.example",
    "email_verified": True,
}


def test_first_sign_in_creates_the_person_and_the_next_finds_them(rf, oidc, db):
    request, response = provider_sign_in(rf, JANE)
    assert response.status_code == 302
    jane = User.objects.get(username="jane")
    assert signed_in_as(request) == str(jane.pk)
    assert EmailAddress.objects.get(user=jane).verified  # the provider verified it
    request, response = provider_sign_in(rf, JANE)
    assert response.status_code == 302, response.content.decode()[:300]
    assert signed_in_as(request) == str(jane.pk)
    assert User.objects.count() == 1


def test_a_verified_provider_address_never_signs_in_as_an_impostor_who_typed_it(
    rf, oidc, make_user
):
    """Hijack (b): the impostor typed the real person's address (never verified) and has
    an API token. The real person's first sign-in through the provider, whose address is
    verified there, must not land in the impostor's account (allauth would link it, wipe
    the impostor's password and leave the token and the impostor's sessions working)."""
    impostor = make_user("impostor")
    EmailAddress.objects.create(user=impostor, email="jane@corp.example", verified=False)
    _, token = identity_services.api_token_create(user=impostor, name="ci")
    request, response = provider_sign_in(rf, JANE)
    assert signed_in_as(request) != str(impostor.pk)
    assert not SocialAccount.objects.filter(user=impostor).exists()
    impostor.refresh_from_db()
    assert impostor.has_usable_password()  # nothing linked, so nothing to wipe
    # The token still opens the impostor's own account only: nobody else's data.
    assert identity_services.api_token_authenticate(token) == impostor


def test_a_verified_provider_address_links_the_account_that_verified_it(rf, oidc, make_user):
    owner = make_user("owner")
    request, response = provider_sign_in(rf, {**JANE, "email": "Owner@Example.com"})
    assert signed_in_as(request) == str(owner.pk)
    assert SocialAccount.objects.get(uid="sub-jane").user == owner
    owner.refresh_from_db()
    assert owner.has_usable_password()  # a verified address: allauth wipes nothing
    # The owner's own provider name does not matter once linked: they sign in again.
    request, response = provider_sign_in(rf, {**JANE, "email": "Owner@Example.com"})
    assert signed_in_as(request) == str(owner.pk)


def test_a_provider_username_taken_locally_is_refused_not_renamed(rf, oidc, make_user):
    """Keycloak's `admin` must not silently become another hub name (which would go into
    IAM): the sign-in is refused with a page that says why."""
    make_user("admin")
    request, response = provider_sign_in(rf, {**JANE, "preferred_username": "Admin"})
    assert response.status_code == 409
    assert "already used by another hub account" in response.content.decode()
    assert signed_in_as(request) is None
    assert list(User.objects.values_list("username", flat=True)) == ["admin"]


@pytest.mark.parametrize("username", [None, "", "jane doe"])
def test_a_missing_or_unusable_provider_username_is_refused_not_invented(rf, oidc, db, username):
    claims = {**JANE, "given_name": "Jane"}
    claims.pop("preferred_username")
    if username is not None:
        claims["preferred_username"] = username
    request, response = provider_sign_in(rf, claims)
    assert response.status_code == 400
    assert "gave no username the hub can use" in response.content.decode()
    assert not User.objects.exists()
