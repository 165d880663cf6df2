from django.contrib import admin, messages
from django.utils.html import format_html

from hub.choices import Status, status_colour
from hub.exceptions import HubError

from . import services
from .models import DockerRepo


@admin.register(DockerRepo)
class DockerRepoAdmin(admin.ModelAdmin):
    list_display = ("full_name_display", "status_label", "service", "requested_by",
                    "created_at", "updated_at")
    list_filter = ("status", "tag_mutability", "scan_on_push", "project")
    search_fields = ("name", "project__shortname", "service__name", "uri", "status_detail")
    list_select_related = ("project", "service", "requested_by")
    readonly_fields = ("project", "service", "name", "status", "status_detail", "uri", "arn",
                       "delete_requested", "requested_by", "created_at", "updated_at",
                       "status_changed_at")
    fields = ("project", "service", "name", "description", "status", "status_detail", "uri",
              "arn", "tag_mutability", "scan_on_push", "keep_last_images", "delete_requested",
              "requested_by", "created_at", "updated_at", "status_changed_at")
    actions = ["retry_failed", "reconcile_selected"]

    def has_add_permission(self, request):
        # Repositories are requested on the project's page or through the API, so they go
        # through validation, the audit log and the provisioning task.
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="repository", ordering="name")
    def full_name_display(self, obj):
        return obj.full_name

    @admin.display(description="status", ordering="status")
    def status_label(self, obj):
        return format_html('<span style="color:{}">{}</span>', _CSS.get(status_colour(obj.status)),
                           obj.get_status_display())

    @admin.action(description="Retry the selected failed repositories")
    def retry_failed(self, request, queryset):
        done = 0
        for repo in queryset.filter(status=Status.FAILED).select_related("project"):
            try:
                services.repo_retry(actor=request.user, repo=repo)
                done += 1
            except HubError as exc:
                self.message_user(request, f"{repo}: {exc.message}", messages.ERROR)
        self.message_user(request, f"{done} repositor{'y' if done == 1 else 'ies'} retried.")


    @admin.action(description="Reconcile the selected repositories with ECR now")
    def reconcile_selected(self, request, queryset):
        from .reconcile import reconcile

        report = reconcile(repo_ids=list(queryset.values_list("pk", flat=True)))
        for line in report.lines():
            self.message_user(request, line,
                              messages.ERROR if line.startswith("error") else messages.INFO)


_CSS = {"green": "#176c3a", "blue": "#1f5fbf", "orange": "#8a4b00", "red": "#b42318",
        "grey": "#4a5462"}
