"""Sign-in with the OpenID provider, in-process: the CSP lets the sign-in form's redirect
reach the provider, a provider that cannot be reached is a 503 page, and signing out of
a provider sign-in goes through the provider's end-session endpoint.

The whole flow against a real provider in Chromium is tests/e2e/test_oidc.py."""

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from hub import oidc
from tests.helpers import page
from tests.procs import free_port

CALLBACK = "/accounts/oidc/keycloak/login/callback/"


def csp_of_a_hub_started_with(**env) -> str:
    """The Content-Security-Policy header of a response of a hub process started with
    `env` (the policy is settled when the settings load): a page asked for without a
    session, answered with a redirect to sign in (no database needed)."""
    code = (
        "import django; django.setup(); from django.test import Client; "
        "response = Client().get('/projects/'); assert response.status_code == 302; "
        "print(response['Content-Security-Policy'])"
    )
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_OIDC_")}
    full_env.update(env, DJANGO_SETTINGS_MODULE="hub.settings")
    return subprocess.run(
        [sys.executable, "-c", code], env=full_env, capture_output=True, text=True, check=True
    ).stdout.strip()


def directives(csp: str) -> dict[str, str]:
    return dict(part.strip().split(" ", 1) for part in csp.split(";"))


def test_csp_form_action_allows_the_provider_origin_only_there():
    with_oidc = directives(
        csp_of_a_hub_started_with(
            HUB_OIDC_SERVER_URL="https://SSO.example.com:8443/realms/acp",
            HUB_OIDC_CLIENT_ID="platform-hub",
        )
    )
    without = directives(csp_of_a_hub_started_with())
    assert without["form-action"] == "'self'"
    assert with_oidc["form-action"] == "'self' https://sso.example.com:8443"
    # Nothing else opens up: scripts, connections, frames stay the hub's own.
    assert {k: v for k, v in with_oidc.items() if k != "form-action"} == {
        k: v for k, v in without.items() if k != "form-action"
    }


# --- the provider cannot be reached ---------------------------------------------------


class Discovery:
    """A real HTTP server answering the provider's discovery document (its other
    endpoints are on a closed port), or `status` instead when set."""

    def __init__(self):
        self.status = 200
        closed = f"http://127.0.0.1:{free_port()}"
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                body = json.dumps(
                    {
                        "issuer": owner.url,
                        "authorization_endpoint": f"{closed}/auth",
                        "token_endpoint": f"{closed}/token",
                        "userinfo_endpoint": f"{closed}/me",
                        "jwks_uri": f"{closed}/jwks",
                        "end_session_endpoint": f"{closed}/end",
                    }
                ).encode()
                self.send_response(owner.status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def discovery():
    server = Discovery()
    yield server
    server.close()


def use_provider(settings, server_url: str) -> None:
    settings.SOCIALACCOUNT_PROVIDERS = {
        "openid_connect": {
            "APPS": [
                {
                    "provider_id": "keycloak",
                    "name": "ACP Keycloak",
                    "client_id": "platform-hub",
                    "secret": "s3cret",
                    "settings": {"server_url": server_url},
                }
            ]
        }
    }
    settings.SOCIALACCOUNT_REQUESTS_TIMEOUT = 2


def assert_unreachable_page(response):
    assert response.status_code == 503
    assert response["Retry-After"] == "60"
    body = page(response)
    assert "The sign-in provider (ACP Keycloak) cannot be reached right now" in body
    assert "Try again in a minute" in body


def test_sign_in_with_the_provider_on_a_closed_port_is_a_503(client, db, settings):
    use_provider(settings, f"http://127.0.0.1:{free_port()}")
    assert_unreachable_page(client.post(reverse("openid_connect_login", args=["keycloak"])))


def test_provider_answering_5xx_is_a_503(client, db, settings, discovery):
    use_provider(settings, discovery.url)
    discovery.status = 502
    assert_unreachable_page(client.post(reverse("openid_connect_login", args=["keycloak"])))


def start_sign_in(client) -> str:
    """The hub's redirect to the provider; returns the state the callback must bring."""
    response = client.post(reverse("openid_connect_login", args=["keycloak"]))
    assert response.status_code == 302, page(response)
    return parse_qs(urlsplit(response["Location"]).query)["state"][0]


def test_token_endpoint_unreachable_at_the_callback_is_a_503(client, db, settings, discovery):
    use_provider(settings, discovery.url)
    state = start_sign_in(client)
    assert_unreachable_page(client.get(CALLBACK, {"code": "abc", "state": state}))


def test_provider_gone_by_the_callback_is_a_503(client, db, settings, discovery):
    use_provider(settings, discovery.url)
    state = start_sign_in(client)
    discovery.close()
    assert_unreachable_page(client.get(CALLBACK, {"code": "abc", "state": state}))


def test_a_refused_sign_in_is_no_503(client, db, settings, discovery):
    """The provider answered and said no: allauth's own error page, not "unreachable"."""
    use_provider(settings, discovery.url)
    state = start_sign_in(client)
    response = client.get(CALLBACK, {"error": "access_denied", "state": state})
    assert response.status_code != 503
    assert "cannot be reached" not in page(response)


# --- signing out --------------------------------------------------------------------


def test_sign_out_after_a_provider_sign_in_ends_the_provider_session(client, world):
    client.force_login(world.users["member"])
    session = client.session
    session[oidc.SESSION_KEY] = {
        "provider_id": "keycloak",
        "client_id": "platform-hub",
        "id_token": "the.id.token",
        "end_session_endpoint": "https://sso.example.com/realms/acp/logout",
    }
    session.save()
    response = client.post(reverse("account_logout"))
    assert response.status_code == 302
    target = urlsplit(response["Location"])
    assert (
        f"{target.scheme}://{target.netloc}{target.path}"
        == "https://sso.example.com/realms/acp/logout"
    )
    assert parse_qs(target.query) == {
        "id_token_hint": ["the.id.token"],
        "client_id": ["platform-hub"],
        "post_logout_redirect_uri": ["http://testserver/accounts/login/"],
    }
    assert client.get(reverse("projects:list")).status_code == 302  # signed out of the hub
    assert oidc.SESSION_KEY not in client.session


def test_local_sign_out_stays_in_the_hub(client, world):
    client.force_login(world.users["member"])
    response = client.post(reverse("account_logout"))
    assert response["Location"] == reverse("account_login")
