from django.urls import path

from . import views

app_name = "identities"

urlpatterns = [
    path("", views.ConnectedIdentitiesView.as_view(), name="connected"),
    path("ecr/status/", views.EcrIdentityStatusView.as_view(), name="ecr-status"),
    path("ecr/create/", views.EcrIdentityCreateView.as_view(), name="ecr-create"),
    path("ecr/reveal/", views.EcrIdentityRevealView.as_view(), name="ecr-reveal"),
    path("ecr/secret/", views.EcrIdentitySecretView.as_view(), name="ecr-secret"),
    path("ecr/rotate/", views.EcrIdentityRotateView.as_view(), name="ecr-rotate"),
    path("ecr/retry/", views.EcrIdentityRetryView.as_view(), name="ecr-retry"),
    path("api-tokens/", views.ApiTokenListView.as_view(), name="api-tokens"),
    path(
        "api-tokens/<int:token_id>/revoke/",
        views.ApiTokenRevokeView.as_view(),
        name="api-token-revoke",
    ),
]
