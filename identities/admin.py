from django.contrib import admin, messages

from hub.admin_mixins import AuditedAdminMixin, ReadOnlyAdminMixin, StatusAdminMixin
from hub.exceptions import HubError

from . import services
from .models import ApiToken, EcrIdentity


@admin.register(ApiToken)
class ApiTokenAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """Tokens are revoked with the action (audited, like the owner's Revoke); `revoked_at`
    is read-only, so no one can clear it and silently revive a token."""

    audit_prefix = "api_token"
    list_display = ("name", "user", "prefix", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at", "created_at")
    search_fields = ("name", "user__username", "prefix")
    list_select_related = ("user",)
    readonly_fields = ("user", "prefix", "created_at", "last_used_at", "revoked_at")
    exclude = ("digest",)
    actions = ["revoke_selected"]

    def has_add_permission(self, request):
        # Tokens are created by their owner (page or hub_api_token), so it is shown once.
        return False

    @admin.action(description="Revoke selected tokens", permissions=["change"])
    def revoke_selected(self, request, queryset):
        done = 0
        for token in queryset.filter(revoked_at__isnull=True).select_related("user"):
            try:
                services.api_token_revoke(user=token.user, token_id=token.pk, actor=request.user)
                done += 1
            except HubError as exc:  # revoked meanwhile
                self.message_user(request, f"{token}: {exc.message}", messages.WARNING)
        self.message_user(request, f"{done} revoked.")


@admin.register(EcrIdentity)
class EcrIdentityAdmin(ReadOnlyAdminMixin, StatusAdminMixin, admin.ModelAdmin):
    """People's ECR identities: created on the Connected Identities page or by a grant;
    here operators look and retry. The secret is never shown. Deactivating the person
    (in Users) deletes their access keys."""

    list_display = (
        "iam_username",
        "user",
        "status_label",
        "access_key_id",
        "key_created_at",
        "updated_at",
    )
    list_filter = ("status", "user__is_active")
    search_fields = (
        "iam_username",
        "user__username",
        "user__email",
        "access_key_id",
        "status_detail",
    )
    list_select_related = ("user",)
    exclude = ("secret_access_key_encrypted",)
    readonly_fields = (
        "user",
        "status",
        "status_detail",
        "iam_username",
        "iam_arn",
        "access_key_id",
        "key_created_at",
        "rotation_requested",
        "created_at",
        "updated_at",
        "status_changed_at",
    )
    actions = ["retry_failed"]

    @admin.action(description="Retry the selected failed ECR identities")
    def retry_failed(self, request, queryset):
        self.retry_each(
            request,
            queryset.select_related("user"),
            lambda identity: services.ecr_identity_retry(user=identity.user, actor=request.user),
            str,
        )
