from datetime import timedelta

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.timesince import timesince

from hub import live
from hub.audit_text import describe
from hub.choices import IN_FLIGHT, Status, status_colour

register = template.Library()


@register.simple_tag
def status_badge(status: str, detail: str = ""):
    """The status label in its colour; in-flight states get a spinner."""
    label = Status(status).label if status in Status.values else status
    spinner = (
        mark_safe('<span class="spinner" aria-hidden="true"></span>') if status in IN_FLIGHT else ""
    )  # noqa: S308 - a constant
    return format_html(
        '<span class="badge badge-{}" data-status="{}"{}>{}{}</span>',
        status_colour(status),
        status,
        format_html(' title="{}"', detail) if detail else "",
        spinner,
        label,
    )


@register.simple_tag
def audit_sentence(event) -> str:
    """The audit event in plain words (hub.audit_text), escaped like any text."""
    return describe(event)


@register.filter
def in_flight(obj) -> bool:
    """A row or status that is still moving (pending, deleting, removing): polled."""
    return live.in_flight(obj)


@register.filter
def live_version(obj) -> str:
    return live.version_of(obj)


@register.simple_tag
def live_fragment(url: str, obj):
    """The htmx attributes of a fragment of `obj` (its status line) that re-fetches itself
    from `url` while `obj` is in flight (hub/live.py); none once it has settled, which
    stops the polling."""
    if not live.in_flight(obj):
        return ""
    return format_html(
        ' hx-get="{}?v={}" hx-trigger="every {}s" hx-swap="outerHTML"',
        url,
        live.version_of(obj),
        live.POLL_SECONDS,
    )


@register.simple_tag
def live_row(url: str, obj, name: str):
    """A table row's id (`<name>-row-<pk>`) and, while `obj` is in flight, the htmx
    attributes that re-fetch that row alone: `url?<name>=<pk>&v=<version>` answers the
    fragment with this one row (hx-select picks it), or 204 while nothing changed. Only
    rows in flight poll, and a swap replaces that row only, so a focused button elsewhere
    is never replaced."""
    row_id = f"{name}-row-{obj.pk}"
    if not live.in_flight(obj):
        return format_html(' id="{}"', row_id)
    return format_html(
        ' id="{}" hx-get="{}?{}={}&amp;v={}" hx-select="#{}" hx-trigger="every {}s"'
        ' hx-swap="outerHTML"',
        row_id,
        url,
        name,
        obj.pk,
        live.version_of(obj),
        row_id,
        live.POLL_SECONDS,
    )


@register.filter
def ago(value) -> str:
    """ "just now" under a minute, else Django's timesince ("3 minutes ago")."""
    if not value:
        return ""
    if timezone.now() - value < timedelta(minutes=1):
        return "just now"
    return f"{timesince(value)} ago"
