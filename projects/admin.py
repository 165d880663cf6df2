from django import forms
from django.contrib import admin
from django.db.models import Count

from hub.admin_mixins import AuditedAdminMixin

from .models import Membership, Project, Service

# A membership is one person in one project: moving it to another person or project would
# leave the first person's repository access in place (it is withdrawn when a membership is
# deleted). To move someone, remove the membership and add a new one.


class MembershipInlineForm(forms.ModelForm):
    """An existing row shows its person, fixed; a new row picks one."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None and "user" in self.fields:
            self.fields["user"].disabled = True  # a posted value is ignored


class MembershipInline(admin.TabularInline):
    model = Membership
    form = MembershipInlineForm
    extra = 0
    autocomplete_fields = ("user",)


class ServiceInline(admin.TabularInline):
    model = Service
    extra = 0
    fields = ("name", "description")


@admin.register(Project)
class ProjectAdmin(AuditedAdminMixin, admin.ModelAdmin):
    audit_prefix = "project"
    list_display = (
        "shortname",
        "name",
        "repo_management",
        "member_count",
        "service_count",
        "created_at",
    )
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
        return (
            super()
            .get_queryset(request)
            .annotate(
                _members=Count("memberships", distinct=True),
                _services=Count("services", distinct=True),
            )
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

    def get_readonly_fields(self, request, obj=None):
        return (*self.readonly_fields, "user", "project") if obj else self.readonly_fields


@admin.register(Service)
class ServiceAdmin(AuditedAdminMixin, admin.ModelAdmin):
    audit_prefix = "service"
    list_display = ("name", "project", "created_at", "updated_at")
    list_filter = ("project",)
    search_fields = ("name", "description", "project__shortname")
    autocomplete_fields = ("project",)
    list_select_related = ("project",)
