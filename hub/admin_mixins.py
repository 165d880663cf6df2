from django.forms.models import model_to_dict

from .audit import audit


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
        audit(actor=request.user, action=f"{self.audit_prefix}.{action}", target=obj,
              project=self.audit_project(obj), detail=detail)

    def delete_model(self, request, obj):
        audit(actor=request.user, action=f"{self.audit_prefix}.deleted", target=obj,
              project=self.audit_project(obj), detail={"via": "admin", **_safe_fields(obj)})
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


def _safe_fields(obj) -> dict:
    return {k: str(v) for k, v in model_to_dict(obj).items() if k in ("name", "shortname", "role")}
