from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from hub.audit_text import describe
from hub.choices import IN_FLIGHT, Status, status_colour

register = template.Library()


@register.simple_tag
def status_badge(status: str, detail: str = ""):
    """The status label in its colour; in-flight states get a spinner."""
    label = Status(status).label if status in Status.values else status
    spinner = mark_safe('<span class="spinner" aria-hidden="true"></span>') \
        if status in IN_FLIGHT else ""  # noqa: S308 - a constant
    return format_html(
        '<span class="badge badge-{}" data-status="{}"{}>{}{}</span>',
        status_colour(status), status,
        format_html(' title="{}"', detail) if detail else "", spinner, label,
    )


@register.simple_tag
def audit_sentence(event) -> str:
    """The audit event in plain words (hub.audit_text), escaped like any text."""
    return describe(event)
