from django.contrib import admin, messages

from hub.admin_mixins import ReadOnlyAdminMixin, StatusAdminMixin

from . import services
from .access import access_retry
from .models import DockerRepo, RepoAccess, RobotAccount
from .reconcile import reconcile
from .robots import robot_retry


@admin.register(DockerRepo)
class DockerRepoAdmin(ReadOnlyAdminMixin, StatusAdminMixin, admin.ModelAdmin):
    """Repositories are requested on the project's page or through the API, so they go
    through validation, the audit log and the provisioning task."""

    list_display = (
        "full_name_display",
        "status_label",
        "service",
        "requested_by",
        "created_at",
        "updated_at",
    )
    list_filter = ("status", "tag_mutability", "scan_on_push", "project")
    search_fields = ("name", "project__shortname", "service__name", "uri", "status_detail")
    list_select_related = ("project", "service", "requested_by")
    readonly_fields = (
        "project",
        "service",
        "name",
        "status",
        "status_detail",
        "failure_kind",
        "uri",
        "arn",
        "delete_requested",
        "requested_by",
        "created_at",
        "updated_at",
        "status_changed_at",
    )
    fields = (
        "project",
        "service",
        "name",
        "description",
        "status",
        "status_detail",
        "failure_kind",
        "uri",
        "arn",
        "tag_mutability",
        "scan_on_push",
        "keep_last_images",
        "delete_requested",
        "requested_by",
        "created_at",
        "updated_at",
        "status_changed_at",
    )
    actions = ["retry_failed", "reconcile_selected"]

    @admin.display(description="repository", ordering="name")
    def full_name_display(self, obj):
        return obj.full_name

    @admin.action(description="Retry the selected failed repositories")
    def retry_failed(self, request, queryset):
        self.retry_each(
            request,
            queryset.select_related("project"),
            lambda repo: services.repo_retry(actor=request.user, repo=repo),
            str,
        )

    @admin.action(description="Reconcile the selected repositories with ECR now")
    def reconcile_selected(self, request, queryset):
        report = reconcile(repo_ids=list(queryset.values_list("pk", flat=True)))
        for line in report.lines():
            self.message_user(
                request, line, messages.ERROR if line.startswith("error") else messages.INFO
            )


@admin.register(RobotAccount)
class RobotAccountAdmin(ReadOnlyAdminMixin, StatusAdminMixin, admin.ModelAdmin):
    """Robot accounts are managed on the repository's MANAGE ACCESS page (or the API);
    here operators look and retry. The secret is never shown."""

    list_display = (
        "name",
        "repo",
        "status_label",
        "iam_username",
        "access_key_id",
        "key_created_at",
        "updated_at",
    )
    list_filter = ("status", "repo__project")
    search_fields = (
        "name",
        "iam_username",
        "access_key_id",
        "repo__name",
        "repo__project__shortname",
        "status_detail",
    )
    list_select_related = ("repo__project",)
    exclude = ("secret_access_key_encrypted",)
    readonly_fields = (
        "repo",
        "name",
        "status",
        "status_detail",
        "iam_username",
        "iam_arn",
        "access_key_id",
        "key_created_at",
        "rotation_requested",
        "removal_requested",
        "created_by",
        "created_at",
        "updated_at",
        "status_changed_at",
    )
    actions = ["retry_failed"]

    @admin.action(description="Retry the selected failed robot accounts")
    def retry_failed(self, request, queryset):
        self.retry_each(
            request,
            queryset.select_related("repo__project"),
            lambda robot: robot_retry(actor=request.user, robot=robot),
            str,
        )


@admin.register(RepoAccess)
class RepoAccessAdmin(ReadOnlyAdminMixin, StatusAdminMixin, admin.ModelAdmin):
    list_display = ("user", "repo", "writable", "status_label", "updated_at")
    list_filter = ("status", "writable", "repo__project")
    search_fields = (
        "user__username",
        "user__email",
        "repo__name",
        "repo__project__shortname",
        "status_detail",
    )
    list_select_related = ("user", "repo__project")
    readonly_fields = (
        "repo",
        "user",
        "writable",
        "status",
        "status_detail",
        "removal_requested",
        "created_at",
        "updated_at",
        "status_changed_at",
    )
    actions = ["retry_failed"]

    @admin.action(description="Retry the selected failed access entries")
    def retry_failed(self, request, queryset):
        self.retry_each(
            request,
            queryset.select_related("repo__project", "user"),
            lambda access: access_retry(actor=request.user, access=access),
            str,
        )
