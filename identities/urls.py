from django.urls import path

from . import views

app_name = "identities"

urlpatterns = [
    path("", views.ConnectedIdentitiesView.as_view(), name="connected"),
    path("api-tokens/", views.ApiTokenListView.as_view(), name="api-tokens"),
    path("api-tokens/<int:token_id>/revoke/", views.ApiTokenRevokeView.as_view(),
         name="api-token-revoke"),
]
