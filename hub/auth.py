from allauth.account.adapter import DefaultAccountAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.conf import settings


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request) -> bool:
        return settings.HUB_LOCAL_SIGNUP


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    """People from the identity provider may always sign in, even with local sign-up off."""

    def is_open_for_signup(self, request, sociallogin) -> bool:
        return True
