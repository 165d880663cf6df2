"""Break-glass sign-in for operators when people sign in only through the identity
provider (HUB_LOCAL_SIGNIN=0) and the provider is down: `manage.py hub_break_glass
USERNAME` prints a link that signs that staff account in once, within LINK_MAX_AGE.
Only someone who can run manage.py on the hub can make one; each use is audited."""

from django.contrib.auth import get_user_model, login
from django.contrib.auth.decorators import login_not_required
from django.core import signing
from django.http import HttpResponseForbidden
from django.shortcuts import redirect
from django.urls import reverse

from hub.audit import audit

SALT = "hub.break-glass"
LINK_MAX_AGE = 15 * 60  # seconds


def _fingerprint(user) -> str:
    # Changes when the account signs in (last_login) or its password changes: one use.
    return f"{user.pk}:{user.last_login.isoformat() if user.last_login else ''}:{user.password}"


def make_link_path(user) -> str:
    token = signing.dumps(
        {"user": user.pk, "fp": signing.get_cookie_signer(SALT).signature(_fingerprint(user))},
        salt=SALT,
    )
    return reverse("hub_break_glass", args=[token])


@login_not_required
def sign_in(request, token: str):
    try:
        data = signing.loads(token, salt=SALT, max_age=LINK_MAX_AGE)
    except signing.BadSignature:
        return HttpResponseForbidden("This break-glass link is invalid or has expired.")
    user = (
        get_user_model().objects.filter(pk=data.get("user"), is_active=True, is_staff=True).first()
    )
    if user is None or data.get("fp") != signing.get_cookie_signer(SALT).signature(
        _fingerprint(user)
    ):
        return HttpResponseForbidden(
            "This break-glass link was used already or is no longer valid."
        )
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    audit(
        actor=user, action="user.break_glass_sign_in", target=user, detail={"user": user.username}
    )
    return redirect("admin:index")
