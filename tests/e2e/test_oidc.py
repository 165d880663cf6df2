"""Sign-in with a real OpenID provider (panva's certified oidc-provider, tests/oidc/),
configured like the platform's Keycloak, in Chromium against a running hub whose
HUB_OIDC_* point at it: the first sign-in creates the person, the next one finds them,
signing out ends the provider's session too, a provider that is down is a 503 page, and
an unverified provider email never signs anyone in as the local owner of that address.

The hub here is this module's own (the guide's runs without OIDC)."""

import json
import subprocess
import sys

import pytest
from playwright.sync_api import Page, expect

from tests.procs import ROOT, free_port

from .oidc_provider import running_provider
from .stack import running_hub

pytestmark = pytest.mark.e2e

PROVIDER_NAME = "Test Keycloak"
# The provider's people: jane is new to the hub; mallory claims alice's address
# (alice is a local user of the hub, see stack.SEED) without the provider verifying it.
USERS = {
    "jane": {
        "sub": "9f1c2e0a-jane",
        "password": "jane-at-the-idp",
        "name": "Jane Doe",
        "email": "jane@example.com",
        "email_verified": True,
    },
    "mallory": {
        "sub": "4b7d9a31-mallory",
        "password": "mallory-at-the-idp",
        "email": "alice@example.com",
        "email_verified": False,
    },
}


@pytest.fixture(scope="module")
def oidc_provider(tmp_path_factory):
    log_dir = tmp_path_factory.mktemp("oidc")
    web_port = free_port()
    hub_url = f"http://127.0.0.1:{web_port}"
    with running_provider(
        log_dir,
        users=USERS,
        redirect_uri=f"{hub_url}/accounts/oidc/keycloak/login/callback/",
        post_logout_redirect_uri=f"{hub_url}/accounts/login/",
    ) as provider:
        provider.web_port = web_port
        yield provider


@pytest.fixture(scope="module")
def hub(tmp_path_factory, oidc_provider):
    """This module's hub, signing in with the provider (overrides the guide's `hub`)."""
    env = {
        "HUB_OIDC_SERVER_URL": oidc_provider.issuer,
        "HUB_OIDC_CLIENT_ID": oidc_provider.client_id,
        "HUB_OIDC_CLIENT_SECRET": oidc_provider.client_secret,
        "HUB_OIDC_NAME": PROVIDER_NAME,
    }
    with running_hub(
        tmp_path_factory.mktemp("oidc-hub"), extra_env=env, web_port=oidc_provider.web_port
    ) as running:
        running.procs["oidc"] = oidc_provider.proc  # its log in failure reports
        yield running


def hub_users(hub) -> dict[str, dict]:
    """The hub's people as its database has them: email, provider accounts."""
    code = (
        "import json; from django.contrib.auth import get_user_model; "
        "print(json.dumps({u.username: {'pk': u.pk, 'email': u.email, 'uids': "
        "[a.uid for a in u.socialaccount_set.all()]} "
        "for u in get_user_model().objects.all()}))"
    )
    out = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "shell", "-c", code],
        env=hub.env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def start_provider_sign_in(page: Page) -> None:
    """The hub's sign-in page → the provider's button → "Continue"."""
    page.goto("/accounts/login/")
    page.get_by_role("link", name=PROVIDER_NAME).click()
    expect(page.get_by_role("heading", name=f"Sign In Via {PROVIDER_NAME}")).to_be_visible()
    page.get_by_role("button", name="Continue").click()


def enter_credentials(page: Page, username: str) -> None:
    """The provider's own sign-in page (not the hub's): username and password."""
    expect(page.get_by_role("heading", name="Sign in to the test provider")).to_be_visible()
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(USERS[username]["password"])
    page.get_by_role("button", name="Sign in").click()


def expect_signed_in_as(page: Page, username: str) -> None:
    expect(page.get_by_role("heading", name="Projects", exact=True)).to_be_visible()
    expect(page.get_by_role("group").filter(has_text=username)).to_be_visible()


def signed_in_username(page: Page) -> str | None:
    response = page.request.get("/api/v1/me/")
    return response.json().get("username") if response.ok else None


def test_first_sign_in_creates_the_person_from_the_claims(page, hub, oidc_provider, shot):
    start_provider_sign_in(page)  # the CSP lets the browser follow the hub to the provider
    enter_credentials(page, "jane")
    assert any(" GET /auth?client_id=platform-hub&" in line for line in oidc_provider.requests())
    expect_signed_in_as(page, "jane")
    shot(page, "oidc-1-signed-in")
    jane = hub_users(hub)["jane"]
    assert jane["email"] == "jane@example.com"
    assert jane["uids"] == [USERS["jane"]["sub"]]


def test_second_sign_in_is_the_same_person(new_page, hub):
    before = set(hub_users(hub))
    for _ in range(2):  # two browsers: each signs in with the provider from scratch
        page = new_page()
        start_provider_sign_in(page)
        enter_credentials(page, "jane")
        expect_signed_in_as(page, "jane")
    users = hub_users(hub)
    assert [name for name, u in users.items() if USERS["jane"]["sub"] in u["uids"]] == ["jane"]
    assert set(users) == before | {"jane"}  # one new account, not a second one


def test_sign_out_ends_the_provider_session(page, hub, oidc_provider):
    start_provider_sign_in(page)
    enter_credentials(page, "jane")
    expect_signed_in_as(page, "jane")

    # What only a local sign-out would leave: the provider's session signs in again at
    # once, with no credentials asked (the hub's session cookie alone is dropped here).
    page.context.clear_cookies(name="sessionid")
    start_provider_sign_in(page)
    expect_signed_in_as(page, "jane")

    # Signing out of the hub goes through the provider's end-session endpoint.
    page.get_by_text("jane", exact=True).click()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Do you want to sign out")).to_be_visible()
    page.get_by_role("button", name="Yes, sign me out").click()
    expect(page.get_by_role("heading", name="Sign In", exact=True)).to_be_visible()
    assert page.url == f"{hub.url}/accounts/login/"
    assert signed_in_username(page) is None

    end_session = [line for line in oidc_provider.requests() if " /session/end" in line]
    assert any(
        "GET /session/end?" in line
        and "id_token_hint" in line
        and f"post_logout_redirect_uri={hub.url}/accounts/login/" in line
        for line in end_session
    ), end_session
    # Signing in again asks the provider for credentials again.
    start_provider_sign_in(page)
    enter_credentials(page, "jane")
    expect_signed_in_as(page, "jane")


def test_provider_down_is_a_503_page(page, hub, oidc_provider, shot):
    page.goto("/accounts/login/")
    page.get_by_role("link", name=PROVIDER_NAME).click()
    oidc_provider.relay.down()
    try:
        with page.expect_response(
            lambda r: r.request.method == "POST" and "/accounts/oidc/keycloak/login/" in r.url
        ) as answer:
            page.get_by_role("button", name="Continue").click()
        assert answer.value.status == 503
        expect(
            page.get_by_role(
                "heading",
                name=(f"The sign-in provider ({PROVIDER_NAME}) cannot be reached right now"),
            )
        ).to_be_visible()
        expect(page.get_by_text("Try again in a minute")).to_be_visible()
        shot(page, "oidc-provider-down")
    finally:
        oidc_provider.relay.up()
    # Back up: signing in works again.
    start_provider_sign_in(page)
    enter_credentials(page, "jane")
    expect_signed_in_as(page, "jane")


def test_unverified_provider_email_never_signs_in_as_the_local_owner(page, hub, shot):
    start_provider_sign_in(page)
    enter_credentials(page, "mallory")  # claims alice@example.com, not verified
    # Whatever the hub answers (a separate account, a form, a refusal), never alice.
    page.wait_for_url(f"{hub.url}/**")
    page.wait_for_load_state()
    shot(page, "oidc-unverified-email")
    # Asked to complete a sign-up with the address as given: do so, it must not help.
    sign_up = page.get_by_role("button", name="Sign Up")
    if sign_up.count():
        sign_up.click()
        page.wait_for_load_state()
        shot(page, "oidc-unverified-email-sign-up")
    assert signed_in_username(page) != "alice"
    expect(page.get_by_role("group").filter(has_text="alice")).to_have_count(0)
    assert hub_users(hub)["alice"]["uids"] == []
