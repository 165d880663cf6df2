import logging
import time

from allauth.core.internal import ratelimit
from django.core.cache import cache
from rest_framework import authentication, exceptions

from .services import api_token_authenticate

logger = logging.getLogger(__name__)

# Wrong tokens are limited by sign-in's own mechanism (allauth's rate limits, in Django's
# cache): the rate is ACCOUNT_RATE_LIMITS["api_token_failed"], per client IP address only,
# so another client's failures never lock out a good token.
RATE_LIMIT_APP = "allauth.account"
RATE_LIMIT_ACTION = "api_token_failed"


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Token <token>` with a personal API token. A client (IP address) that
    sent too many wrong tokens gets 429 for a while, whatever token it sends, as a
    sign-in that failed too often is refused even with the right password."""

    keyword = "Token"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        wait = seconds_locked_out(request._request)
        if wait:
            raise exceptions.Throttled(wait=wait)
        try:
            return self._user_of(header), None
        except exceptions.AuthenticationFailed:
            record_failure(request._request)
            raise

    def _user_of(self, header):
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Malformed Authorization header.")
        try:
            token = header[1].decode()
        except UnicodeError:
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        user = api_token_authenticate(token)
        if user is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked token.")
        return user

    def authenticate_header(self, request):
        return self.keyword


def seconds_locked_out(request) -> float:
    """How long this client must wait before a token is checked again (0: not locked)."""
    try:
        now, wait = time.time(), 0.0
        for rate in ratelimit.get_rates(app=RATE_LIMIT_APP, action=RATE_LIMIT_ACTION):
            key = ratelimit.get_cache_key(
                request, app=RATE_LIMIT_APP, action=RATE_LIMIT_ACTION, rate=rate
            )
            recent = [t for t in cache.get(key, []) if t > now - rate.duration]  # newest first
            if len(recent) >= rate.amount:
                wait = max(wait, recent[rate.amount - 1] + rate.duration - now)
        return wait
    except Exception:  # the cache (Redis) is down: authenticate rather than fail every call
        logger.warning("Token failure limit skipped: the cache is unavailable", exc_info=True)
        return 0.0


def record_failure(request) -> None:
    try:
        ratelimit.consume(request, app=RATE_LIMIT_APP, action=RATE_LIMIT_ACTION, limit_get=True)
    except Exception:
        logger.warning("Token failure not counted: the cache is unavailable", exc_info=True)
