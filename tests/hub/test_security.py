import logging

import pytest
from django.test import Client
from django.urls import reverse

from hub.logging import REDACTED, RedactSecretsFilter, redact

# The hub's whole policy (settings.CONTENT_SECURITY_POLICY, sent by django-csp).
POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",  # no 'unsafe-inline' for scripts
    "style-src": "'self' 'unsafe-inline'",
    "img-src": "'self'",
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def directives(header: str) -> dict[str, str]:
    return dict(part.strip().split(" ", 1) for part in header.split(";"))


def test_every_page_carries_a_strict_content_security_policy(client, db):
    response = client.get(reverse("account_login"))
    assert response.status_code == 200
    assert directives(response["Content-Security-Policy"]) == POLICY
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["Permissions-Policy"] == (
        "camera=(), microphone=(), geolocation=(), payment=()"
    )


def test_a_signed_in_page_and_an_error_page_carry_the_same_policy(client, world):
    client.force_login(world.users["member"])
    for url, status in [
        (reverse("projects:detail", args=["acp"]), 200),
        ("/projects/no-such-project/", 404),
    ]:
        response = client.get(url)
        assert response.status_code == status, url
        assert directives(response["Content-Security-Policy"]) == POLICY, url


def test_only_the_api_docs_page_allows_data_images_for_swagger_ui(client, db):
    response = client.get(reverse("api-docs"))
    assert response.status_code == 200
    assert b'<div id="swagger-ui">' in response.content
    assert directives(response["Content-Security-Policy"]) == {**POLICY, "img-src": "'self' data:"}
    assert "camera=()" in response["Permissions-Policy"]


def test_pages_load_nothing_from_another_origin(client, world):
    client.force_login(world.users["project_admin"])
    body = client.get(reverse("projects:detail", args=["acp"])).content.decode()
    assert "http://" not in body.replace("http://testserver", "")
    assert "https://" not in body
    assert "<script>" not in body  # inline scripts would be blocked by the CSP


def test_sign_in_locks_an_account_after_repeated_failures(client, make_user, settings):
    make_user("target")
    url = reverse("account_login")
    for _ in range(settings.HUB_LOGIN_ATTEMPTS_LIMIT):
        response = client.post(url, {"login": "target", "password": "wrong"})
        assert response.status_code == 200  # form redisplayed with an error
    # The right password is refused too while the account is locked.
    response = client.post(url, {"login": "target", "password": "pw-target"})
    assert response.status_code in (200, 429)
    assert "_auth_user_id" not in client.session
    assert b"Too many failed login attempts" in response.content


def test_admin_sign_in_goes_through_the_hub_sign_in(client, db):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


@pytest.mark.parametrize(
    "secret",
    [
        "hub_0123456789ab_" + "A" * 43,
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "gAAAAABm" + "x" * 60,
    ],
)
def test_secrets_are_redacted_from_log_lines(secret, caplog):
    logger = logging.getLogger("hub.test")
    handler_filter = RedactSecretsFilter()
    record = logger.makeRecord(
        "hub.test", logging.INFO, __file__, 1, "created key %s for robot", (secret,), None
    )
    handler_filter.filter(record)
    assert secret not in record.getMessage()
    assert REDACTED in record.getMessage()


def test_redaction_keeps_ordinary_text():
    text = "repository acp/hello-world-app is active (sha256:0309d2655ecef6b4)"
    assert redact(text) == text
    assert redact("password=hunter2 and more") == f"password={REDACTED} and more"


@pytest.mark.parametrize(
    "path", ["/accounts/login/", "/projects/acp/services/", "/projects/acp/members/add/"]
)
def test_a_form_over_the_upload_limit_is_a_400_page(world, settings, path):
    """Django refuses to read the form (RequestDataTooBig): a 400, never a 500."""
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(world.users["project_admin"])
    browser.get(reverse("projects:detail", args=["acp"]))  # sets the CSRF cookie
    body = "name=" + "x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    response = browser.post(
        path,
        body,
        content_type="application/x-www-form-urlencoded",
        HTTP_X_CSRFTOKEN=browser.cookies["csrftoken"].value,
    )
    assert response.status_code == 400
