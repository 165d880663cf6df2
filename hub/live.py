"""Live fragments (htmx polls): a row or status line in flight re-fetches itself every
POLL_SECONDS, naming the version it shows (`?v=`); the server answers 204 (htmx swaps
nothing) while that version is still current, so a poll replaces nothing, and focus and
screen readers stay where they are, until the thing itself changed."""

from django.http import HttpResponse

from .choices import IN_FLIGHT

POLL_SECONDS = 2


def version_of(obj) -> str:
    """What a fragment of `obj` shows changes only with a save of `obj`, which moves its
    `updated_at` (auto_now; the status updates done with .update() set it too)."""
    return f"{obj.updated_at.timestamp():.6f}" if obj is not None else ""


def in_flight(obj) -> bool:
    return getattr(obj, "status", None) in IN_FLIGHT


def unchanged(request, obj) -> HttpResponse | None:
    """204 when the poll already shows this version of `obj`, else None (render it)."""
    seen = request.GET.get("v")
    if seen and seen == version_of(obj):
        return HttpResponse(status=204)
    return None
