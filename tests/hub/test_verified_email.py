"""An email address counts nowhere until its owner verified it: not when a project admin
adds a member by email, not for sign-in by email, not for linking an identity provider's
account. Each hijack path of an unverified address is a test here; each failed on the hub
before addresses were verified."""

import re
import threading

import pytest
from aiosmtpd.controller import Controller
from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount, SocialLogin
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.management import call_command

from hub import settings as configured
from hub.auth import SocialAccountAdapter
from hub.exceptions import InvalidInput
from hub.models import AuditEvent
from projects import services as project_services
from projects.models import Membership
from tests.procs import free_port

User = get_user_model()
VICTIM = "victim@example.com"


def claim(client, user, address: str) -> None:
    """`user` adds `address` on the email page and tries to make it primary."""
    client.force_login(user)
    response = client.post("/accounts/email/", {"email": address, "action_add": ""})
    assert response.status_code in (200, 302), response.status_code
    client.post("/accounts/email/", {"email": address, "action_primary": ""})


def confirmation_link(message) -> str:
    return re.search(r"https?://[^/\s]+(/accounts/confirm-email/[^\s]+/)", message.body)[1]


def test_an_address_claimed_without_verification_adds_nobody(client, world, make_user):
    impostor = make_user("impostor")
    claim(client, impostor, VICTIM)
    assert EmailAddress.objects.filter(user=impostor, email=VICTIM, verified=False).exists()
    # Adding it sent a verification mail to the address, which the impostor cannot read.
    assert [m.to for m in mail.outbox] == [[VICTIM]]
    with pytest.raises(InvalidInput, match="verified"):
        project_services.membership_add(
            actor=world.users["project_admin"], project=world.project, user=VICTIM
        )
    assert not Membership.objects.filter(user=impostor, project=world.project).exists()


def test_the_owner_who_follows_the_link_is_found_by_email(client, world, make_user):
    owner = make_user("owner")
    claim(client, owner, VICTIM)
    link = confirmation_link(mail.outbox[-1])
    client.post(link)
    assert EmailAddress.objects.get(user=owner, email=VICTIM).verified
    membership = project_services.membership_add(
        actor=world.users["project_admin"], project=world.project, user=VICTIM
    )
    assert membership.user == owner


def test_sign_in_by_an_unverified_address_is_refused(client, make_user):
    impostor = make_user("impostor")
    EmailAddress.objects.create(user=impostor, email=VICTIM, verified=False)
    response = client.post("/accounts/login/", {"login": VICTIM, "password": "pw-impostor"})
    assert response.status_code == 200  # the form again, with its error
    assert "_auth_user_id" not in client.session
    response = client.post(
        "/accounts/login/", {"login": "impostor@example.com", "password": "pw-impostor"}
    )
    assert response.status_code == 302 and client.session["_auth_user_id"] == str(impostor.pk)


def _provider_login(rf, settings, email: str, verified: bool) -> SocialLogin:
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
    request = rf.get("/")
    account = SocialAccount(provider="keycloak", uid="sub-of-the-real-person")
    login = SocialLogin(
        user=User(username="victim", email=email),
        account=account,
        email_addresses=[EmailAddress(email=email, verified=verified, primary=True)],
    )
    login.state = {}
    login.provider = account.get_provider(request)
    return SocialAccountAdapter(request), login


def test_a_verified_provider_address_never_links_an_account_that_only_typed_it(
    rf, settings, make_user
):
    impostor = make_user("impostor")
    EmailAddress.objects.create(user=impostor, email=VICTIM, verified=False)
    adapter, login = _provider_login(rf, settings, VICTIM, verified=True)
    assert adapter.authenticate_by_email(login) is None


def test_a_verified_provider_address_links_the_account_that_verified_it(rf, settings, make_user):
    owner = make_user("owner")
    adapter, login = _provider_login(rf, settings, "owner@example.com", verified=True)
    assert adapter.authenticate_by_email(login) == (owner, "owner@example.com")
    adapter, login = _provider_login(rf, settings, "owner@example.com", verified=False)
    assert adapter.authenticate_by_email(login) is None


def test_forgot_password_mails_a_reset_link(client, make_user):
    make_user("member")
    response = client.post("/accounts/password/reset/", {"email": "member@example.com"})
    assert response.status_code == 302
    assert [m.to for m in mail.outbox] == [["member@example.com"]]
    assert "/accounts/password/reset/key/" in mail.outbox[0].body


class Inbox:
    def __init__(self):
        self.messages: list[bytes] = []
        self.arrived = threading.Event()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        self.messages.append(envelope.content)
        self.arrived.set()
        return "250 OK"


def test_verification_mail_goes_over_real_smtp(client, make_user, settings):
    """Production sends through SMTP: here to a real SMTP server on loopback, and the link
    in the message it received verifies the address."""
    inbox, port = Inbox(), free_port()
    server = Controller(inbox, hostname="127.0.0.1", port=port)
    server.start()
    try:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
        owner = make_user("owner")
        claim(client, owner, VICTIM)
        assert inbox.arrived.wait(10)
    finally:
        server.stop()
    body = inbox.messages[0].decode()
    assert f"To: {VICTIM}" in body
    link = re.search(r"(/accounts/confirm-email/[^\s]+/)", body)[1]
    client.post(link)
    assert EmailAddress.objects.get(user=owner, email=VICTIM).verified


def test_development_mail_needs_no_server(client, make_user, settings, tmp_path):
    """`make run`'s mail backend (the settings module's, not the tests' in-memory one)
    writes each message under var/mail/: "Forgot your password?" no longer needs an SMTP
    server on localhost."""

    assert configured.EMAIL_BACKEND == "django.core.mail.backends.filebased.EmailBackend"
    assert configured.EMAIL_FILE_PATH == str(configured.VAR_DIR / "mail")
    settings.EMAIL_BACKEND, settings.EMAIL_FILE_PATH = configured.EMAIL_BACKEND, str(tmp_path)
    make_user("member")
    response = client.post("/accounts/password/reset/", {"email": "member@example.com"})
    assert response.status_code == 302
    [written] = list(tmp_path.iterdir())
    assert "/accounts/password/reset/key/" in written.read_text()


# --- OIDC-only mode ----------------------------------------------------------------------


@pytest.fixture
def oidc_only(settings):
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
    settings.HUB_LOCAL_SIGNIN = False
    settings.HUB_LOCAL_SIGNUP = True


def test_oidc_only_mode_refuses_password_sign_in_and_sign_up(client, make_user, oidc_only):
    make_user("member")
    response = client.post("/accounts/login/", {"login": "member", "password": "pw-member"})
    assert response.status_code == 200
    assert "Sign-in with a hub password is turned off" in response.content.decode()
    assert "_auth_user_id" not in client.session
    response = client.post(
        "/accounts/signup/",
        {
            "email": "new@example.com",
            "username": "newbie",
            "password1": "a-long-pass-phrase-1",
            "password2": "a-long-pass-phrase-1",
        },
    )
    assert not User.objects.filter(username="newbie").exists()


def test_password_sign_in_works_with_oidc_when_not_turned_off(
    client, make_user, settings, oidc_only
):
    settings.HUB_LOCAL_SIGNIN = True
    make_user("member")
    response = client.post("/accounts/login/", {"login": "member", "password": "pw-member"})
    assert response.status_code == 302


def test_break_glass_link_signs_a_staff_account_in_once(client, make_user, oidc_only):
    admin = make_user("operator", staff=True)
    make_user("member")
    out = __import__("io").StringIO()
    call_command("hub_break_glass", "operator", "--base-url", "http://testserver", stdout=out)
    link = out.getvalue().splitlines()[0].removeprefix("http://testserver")
    response = client.get(link)
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert client.session["_auth_user_id"] == str(admin.pk)
    assert AuditEvent.objects.filter(action="user.break_glass_sign_in").count() == 1
    client.logout()
    assert client.get(link).status_code == 403  # used once: no second sign-in
    with pytest.raises(Exception, match="No active staff account"):
        call_command("hub_break_glass", "member", stdout=out)
