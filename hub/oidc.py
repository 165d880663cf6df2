"""Sign-in with the platform's OpenID provider (Keycloak), around allauth's
`openid_connect` provider: what allauth does not do itself.

- RP-initiated logout: at sign-in the ID token and the provider's `end_session_endpoint`
  are kept in the session (allauth stores no ID token); signing out of the hub then goes
  through the provider's end-session endpoint, which ends the provider's session too and
  sends the browser back to the hub's sign-in page.
- A provider that cannot be reached (its discovery document, token or userinfo request
  fails to connect, times out or answers 5xx) is a 503 page that says so, not a 500.

The two views replace allauth's at the same addresses (hub/urls.py puts them first).
"""

from urllib.parse import urlencode

import requests
from allauth.account.internal.decorators import login_not_required
from allauth.account.signals import user_logged_in
from allauth.socialaccount.adapter import get_adapter
from allauth.socialaccount.models import SocialApp
from allauth.socialaccount.providers.oauth2.views import OAuth2CallbackView
from allauth.socialaccount.providers.openid_connect import views as allauth_views
from django.dispatch import receiver
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse

SESSION_KEY = "hub_oidc_logout"


# --- the provider cannot be reached -------------------------------------------------


def is_unreachable(exc: BaseException) -> bool:
    """A failure of the provider itself (network, timeout, 5xx), not of the sign-in."""
    if isinstance(exc, requests.ConnectionError | requests.Timeout):
        return True
    response = getattr(exc, "response", None)
    return (
        isinstance(exc, requests.HTTPError) and response is not None and response.status_code >= 500
    )


def unreachable_response(request, provider_id: str):
    try:
        name = get_adapter().get_provider(request, provider_id).name
    except Exception:  # an unknown provider id: say it without a name
        name = ""
    response = render(request, "hub/oidc_unreachable.html", {"provider_name": name}, status=503)
    response["Retry-After"] = "60"
    return response


# --- the views ----------------------------------------------------------------------


class _IdTokenKeepingAdapter(allauth_views.OpenIDConnectOAuth2Adapter):
    """allauth's adapter, also handing the raw ID token and the end-session endpoint to
    the sign-in (see `_keep_for_logout`)."""

    def complete_login(self, request, app, token, **kwargs):
        login = super().complete_login(request, app, token, **kwargs)
        login.hub_oidc_logout = {
            "provider_id": self.provider_id,
            "client_id": app.client_id,
            "id_token": kwargs["response"].get("id_token", ""),
            "end_session_endpoint": self.openid_config.get("end_session_endpoint", ""),
        }
        return login


@login_not_required
def login(request, provider_id):
    try:
        return allauth_views.login(request, provider_id)
    except Exception as exc:
        if is_unreachable(exc):
            return unreachable_response(request, provider_id)
        raise


@login_not_required
def callback(request, provider_id):
    # Errors of the token and userinfo requests are caught by allauth and reach
    # hub.auth.SocialAccountAdapter.on_authentication_error; the discovery document is
    # fetched before that, so its failure comes here.
    try:
        view = OAuth2CallbackView.adapter_view(_IdTokenKeepingAdapter(request, provider_id))
        return view(request)
    except SocialApp.DoesNotExist:
        raise Http404 from None
    except Exception as exc:
        if is_unreachable(exc):
            return unreachable_response(request, provider_id)
        raise


@receiver(user_logged_in)
def _keep_for_logout(sender, request, user, sociallogin=None, **kwargs):
    """Signed in through the provider: keep what signing out there needs. Django's login()
    has already rotated the session, so this lands in the new one."""
    request.session.pop(SESSION_KEY, None)
    data = getattr(sociallogin, "hub_oidc_logout", None)
    if data and data["end_session_endpoint"]:
        request.session[SESSION_KEY] = data


# --- signing out ------------------------------------------------------------------


def end_session_url(request) -> str | None:
    """Where signing out must go to end the provider's session as well, or None for a
    person who did not sign in through the provider (they sign out of the hub only)."""
    data = request.session.get(SESSION_KEY) if request.user.is_authenticated else None
    if not data:
        return None
    params = {
        "client_id": data["client_id"],
        "post_logout_redirect_uri": request.build_absolute_uri(reverse("account_login")),
    }
    if data["id_token"]:
        params["id_token_hint"] = data["id_token"]
    endpoint = data["end_session_endpoint"]
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode(params)}"
