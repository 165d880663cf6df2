from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.adapter import get_adapter as get_account_adapter
from allauth.account.auth_backends import AuthenticationBackend
from allauth.account.models import EmailAddress
from allauth.account.utils import user_username
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.providers.base import AuthProcess
from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.shortcuts import render

from . import oidc


def users_with_verified_email(email: str):
    """The active users who verified `email` (case-insensitive). An address counts nowhere
    (member lookup, sign-in by email, linking a provider's account) until its owner has
    followed the link mailed to it: anyone can type anyone's address."""
    return get_user_model().objects.filter(
        is_active=True,
        pk__in=EmailAddress.objects.filter(email__iexact=email, verified=True).values("user_id"),
    )


def local_signin_off() -> bool:
    """OIDC-only mode: HUB_LOCAL_SIGNIN=0 and a provider configured."""
    return bool(settings.SOCIALACCOUNT_PROVIDERS) and not settings.HUB_LOCAL_SIGNIN


LOCAL_SIGNIN_OFF = (
    "Sign-in with a hub password is turned off: use the sign-in provider's "
    "button. (Operators: manage.py hub_break_glass.)"
)


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request) -> bool:
        return settings.HUB_LOCAL_SIGNUP and not local_signin_off()

    def authenticate(self, request, **credentials):
        if local_signin_off():
            raise forms.ValidationError(LOCAL_SIGNIN_OFF)
        return super().authenticate(request, **credentials)

    def get_logout_redirect_url(self, request) -> str:
        # Signed in through the OpenID provider: sign out there too (RP-initiated logout).
        return oidc.end_session_url(request) or super().get_logout_redirect_url(request)


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    """People from the identity provider may always sign in, even with local sign-up off."""

    def is_open_for_signup(self, request, sociallogin) -> bool:
        return True

    def on_authentication_error(
        self, request, provider, error=None, exception=None, extra_context=None
    ):
        # The token or userinfo request could not reach the provider: say so (503).
        if exception is not None and oidc.is_unreachable(exception):
            raise ImmediateHttpResponse(oidc.unreachable_response(request, provider.sub_id))
        super().on_authentication_error(
            request, provider, error=error, exception=exception, extra_context=extra_context
        )

    def pre_social_login(self, request, sociallogin):
        """A new person from the provider gets the provider's username as theirs, or a
        clear refusal: never an invented name (allauth would pick another, say from the
        email, when the provider's is taken, unusable or missing), since the name goes
        into IAM. Runs after allauth looked the person up, so people signing in again,
        or linked by a verified address, are not new; connecting an account is not a
        sign-up either."""
        if sociallogin.is_existing or sociallogin.state.get("process") in (
            AuthProcess.CONNECT,
            AuthProcess.REDIRECT,
        ):
            return
        username = (user_username(sociallogin.user) or "").strip()
        try:
            if not username:
                raise forms.ValidationError("The provider sent no username (preferred_username).")
            get_account_adapter(request).clean_username(username)
        except forms.ValidationError as refused:
            taken = get_user_model().objects.filter(username__iexact=username).exists()
            raise ImmediateHttpResponse(
                render(
                    request,
                    "hub/oidc_username_taken.html",
                    {
                        "username": username,
                        "taken": taken,
                        "reasons": refused.messages,
                        "provider_name": getattr(sociallogin.provider, "name", ""),
                    },
                    status=409 if taken else 400,
                )
            ) from None

    def authenticate_by_email(self, sociallogin):
        """Sign in (and connect) an existing account by email only when the provider says
        the address is verified AND the account verified it here too. allauth would also
        take an account that merely typed the address, wiping its password but leaving
        its sessions and API tokens working: that account could be an impostor's."""
        for address in sociallogin.email_addresses:
            if not address.verified or not self.can_authenticate_by_email(
                sociallogin, address.email
            ):
                continue
            user = users_with_verified_email(address.email).first()
            if user is not None:
                return user, address.email
        return None


class VerifiedEmailAuthenticationBackend(AuthenticationBackend):
    """allauth's sign-in by username or email, where an email counts only once verified."""

    def _authenticate_by_email(self, email, password):
        if not email or "@" not in email:
            return None
        for user in users_with_verified_email(email):
            if self._check_password(user, password):
                return user
        return None


HUB_APPS = frozenset({"hub", "projects", "docker_repos", "identities"})


class HubAdminPermissionsBackend:
    """Hub admins are Django staff: they run every hub model in the admin without being
    granted each permission one by one. Other apps' permissions (users, groups, sign-in
    providers) stay with superusers and explicit grants."""

    def authenticate(self, request, **credentials):
        return None

    def has_perm(self, user, perm, obj=None) -> bool:
        return user.is_active and user.is_staff and perm.partition(".")[0] in HUB_APPS

    def has_module_perms(self, user, app_label) -> bool:
        return user.is_active and user.is_staff and app_label in HUB_APPS
