"""Base pieces of the API views."""

from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.views import APIView

from hub.exceptions import NotAllowed

from .serializers import StrictSerializer


def require(
    access, capability: str | None = None, *, message: str = "", not_found: str = "Not found."
) -> None:
    """Apply one app's permission rule (an object with `can_view` and boolean capabilities
    such as `is_admin`): what you may not see answers 404, exactly as if it did not exist
    (never 403, so another project's objects do not leak); what you see but may not do
    answers 403. Pass as `not_found` the message of a lookup that found nothing, so the
    two answers are identical."""
    if not access.can_view:
        raise NotFound(not_found)
    if capability is not None and not getattr(access, capability):
        raise NotAllowed(message or "You are not allowed to do this.")


@extend_schema(exclude=True)
class NotFoundView(APIView):
    """Any address under /api/v1/ that no endpoint serves: 404 in the error shape (after
    authentication, so a signed-out client learns nothing about the paths)."""

    def _not_found(self, request, *args, **kwargs):
        raise NotFound("No such endpoint.")

    get = post = put = patch = delete = head = options = _not_found


def no_body(request) -> None:
    """An endpoint that takes no body refuses one with fields (400, like any unknown
    field): nothing a client adds is silently ignored."""
    data = request.data
    if data in (None, "") or (hasattr(data, "__len__") and len(data) == 0):
        return

    StrictSerializer(data=data).is_valid(raise_exception=True)
