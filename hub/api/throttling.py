import logging

from django.conf import settings
from rest_framework.throttling import UserRateThrottle

logger = logging.getLogger(__name__)


class HubApiThrottle(UserRateThrottle):
    """Every API request counts against its person's budget (`HUB_API_RATE`, e.g.
    "600/min"), whichever token or session it comes with; signed-out requests count per
    IP address. Kept in Django's cache (Redis when HUB_CACHE_URL is set). The rate is read
    per request, so a test or an operator's settings change applies at once."""

    scope = "hub_api"

    def get_rate(self):
        return settings.HUB_API_RATE

    def allow_request(self, request, view):
        try:
            return super().allow_request(request, view)
        except Exception:  # the cache (Redis) is down: serve rather than fail every call
            logger.warning("API throttling skipped: the cache is unavailable", exc_info=True)
            return True
