from django.contrib import admin

from .admin_mixins import ReadOnlyAdminMixin
from .models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Audit events are a record: nobody edits or deletes them through the admin."""

    list_display = (
        "at",
        "actor_username",
        "action",
        "target_type",
        "target_repr",
        "project_shortname",
    )
    list_filter = ("action", "target_type", "project_shortname")
    search_fields = ("actor_username", "action", "target_repr", "project_shortname")
    date_hierarchy = "at"
    list_select_related = ()
    readonly_fields = [f.name for f in AuditEvent._meta.fields]
