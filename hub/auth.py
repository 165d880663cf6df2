from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.conf import settings

from . import oidc


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request) -> bool:
        return settings.HUB_LOCAL_SIGNUP

    def get_logout_redirect_url(self, request) -> str:
        # Signed in through the OpenID provider: sign out there too (RP-initiated logout).
        return oidc.end_session_url(request) or super().get_logout_redirect_url(request)


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    """People from the identity provider may always sign in, even with local sign-up off."""

    def is_open_for_signup(self, request, sociallogin) -> bool:
        return True

    def on_authentication_error(self, request, provider, error=None, exception=None,
                                extra_context=None):
        # The token or userinfo request could not reach the provider: say so (503).
        if exception is not None and oidc.is_unreachable(exception):
            raise ImmediateHttpResponse(oidc.unreachable_response(request, provider.sub_id))
        super().on_authentication_error(request, provider, error=error, exception=exception,
                                        extra_context=extra_context)


HUB_APPS = frozenset({"hub", "projects", "docker_repos", "identities"})


class HubAdminPermissionsBackend:
    """Hub admins are Django staff: they run every hub model in the admin without being
    granted each permission one by one. Other apps' permissions (users, groups, sign-in
    providers) stay with superusers and explicit grants."""

    def authenticate(self, request, **credentials):
        return None

    def has_perm(self, user, perm, obj=None) -> bool:
        return (user.is_active and user.is_staff
                and perm.partition(".")[0] in HUB_APPS)

    def has_module_perms(self, user, app_label) -> bool:
        return user.is_active and user.is_staff and app_label in HUB_APPS
