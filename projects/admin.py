from django.contrib import admin
from django.db.models import Count

from hub.admin_mixins import AuditedAdminMixin

from .models import Membership, Project, Service


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ("user",)


class ServiceInline(admin.TabularInline):
    model = Service
    extra = 0
    fields = ("name", "description")


@admin.register(Project)
class ProjectAdmin(AuditedAdminMixin, admin.ModelAdmin):
    audit_prefix = "project"
    list_display = ("shortname", "name", "repo_management", "member_count", "service_count",
                    "created_at")
    list_filter = ("repo_management", "created_at")
    search_fields = ("shortname", "name", "description")
    readonly_fields = ("created_at", "updated_at")
    inlines = [MembershipInline, ServiceInline]

    def audit_project(self, obj):
        return obj

    def get_readonly_fields(self, request, obj=None):
        # The shortname prefixes every ECR repository name: fixed once created.
        return (*self.readonly_fields, "shortname") if obj else self.readonly_fields

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(
            _members=Count("memberships", distinct=True),
            _services=Count("services", distinct=True),
        )

    @admin.display(ordering="_members", description="members")
    def member_count(self, obj):
        return obj._members

    @admin.display(ordering="_services", description="services")
    def service_count(self, obj):
        return obj._services


@admin.register(Membership)
class MembershipAdmin(AuditedAdminMixin, admin.ModelAdmin):
    audit_prefix = "membership"
    list_display = ("user", "project", "role", "created_at")
    list_filter = ("role", "project")
    search_fields = ("user__username", "user__email", "project__shortname")
    autocomplete_fields = ("user", "project")
    list_select_related = ("user", "project")


@admin.register(Service)
class ServiceAdmin(AuditedAdminMixin, admin.ModelAdmin):
    audit_prefix = "service"
    list_display = ("name", "project", "created_at", "updated_at")
    list_filter = ("project",)
    search_fields = ("name", "description", "project__shortname")
    autocomplete_fields = ("project",)
    list_select_related = ("project",)
