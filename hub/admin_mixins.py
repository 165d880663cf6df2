from collections.abc import Callable

from django.contrib import admin, messages
from django.forms.models import model_to_dict
from django.utils.html import format_html

from .audit import audit
from .choices import Status, status_colour
from .exceptions import HubError

# The admin records the same action names as the hub's pages and API.
_ACTION_NAMES = {
    "membership.created": "membership.added",
    "membership.updated": "membership.role_changed",
    "membership.deleted": "membership.removed",
}


def _action(prefix: str, verb: str) -> str:
    name = f"{prefix}.{verb}"
    return _ACTION_NAMES.get(name, name)


class AuditedAdminMixin:
    """Django admin changes leave the same audit trail as changes made on the hub's pages.
    `audit_prefix` is the action prefix (e.g. "service"); `audit_project(obj)` its project."""

    audit_prefix = ""

    def audit_project(self, obj):
        return getattr(obj, "project", None)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        action = "updated" if change else "created"
        detail = {"via": "admin"}
        if change:
            detail["changed"] = sorted(form.changed_data)
        audit(
            actor=request.user,
            action=_action(self.audit_prefix, action),
            target=obj,
            project=self.audit_project(obj),
            detail=detail,
        )

    def delete_model(self, request, obj):
        obj.removed_by = request.user  # for receivers of the deletion (projects.signals)
        audit(
            actor=request.user,
            action=_action(self.audit_prefix, "deleted"),
            target=obj,
            project=self.audit_project(obj),
            detail={"via": "admin", **_safe_fields(obj)},
        )
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)

    def save_formset(self, request, form, formset, change):
        """Inline rows (e.g. a project's members and services) are changes too."""
        prefix = formset.model._meta.model_name
        deleted = [f.instance for f in formset.deleted_forms if f.instance.pk is not None]
        for obj in deleted:
            obj.removed_by = request.user
            audit(
                actor=request.user,
                action=_action(prefix, "deleted"),
                target=obj,
                project=getattr(obj, "project", None),
                detail={"via": "admin", **_safe_fields(obj)},
            )
        super().save_formset(request, form, formset, change)
        for obj in formset.new_objects:
            audit(
                actor=request.user,
                action=_action(prefix, "created"),
                target=obj,
                project=getattr(obj, "project", None),
                detail={"via": "admin"},
            )
        for obj, changed in formset.changed_objects:
            audit(
                actor=request.user,
                action=_action(prefix, "updated"),
                target=obj,
                project=getattr(obj, "project", None),
                detail={"via": "admin", "changed": sorted(changed)},
            )


def _safe_fields(obj) -> dict:
    return {k: str(v) for k, v in model_to_dict(obj).items() if k in ("name", "shortname", "role")}


_STATUS_CSS = {
    "green": "#176c3a",
    "blue": "#1f5fbf",
    "orange": "#8a4b00",
    "red": "#b42318",
    "grey": "#4a5462",
}


class ReadOnlyAdminMixin:
    """Rows that change only through the hub's services (requests, access, credentials):
    operators look, filter and run the admin actions, which call those services."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class StatusAdminMixin:
    """A coloured status column (`status_label`) for models with the hub's status field."""

    message_user: Callable[..., None]  # ModelAdmin's, beside which this mixin is used

    @admin.display(description="status", ordering="status")
    def status_label(self, obj):
        return format_html(
            '<span style="color:{}">{}</span>',
            _STATUS_CSS.get(status_colour(obj.status)),
            obj.get_status_display(),
        )

    def retry_each(self, request, queryset, retry, describe) -> None:
        """Run `retry(obj)` (a service) for each failed object, reporting errors."""
        done = 0
        for obj in queryset.filter(status=Status.FAILED):
            try:
                retry(obj)
                done += 1
            except HubError as exc:
                self.message_user(request, f"{describe(obj)}: {exc.message}", messages.ERROR)
        self.message_user(request, f"{done} retried.")
