from django.urls import path

from . import schema, views  # noqa: F401 - schema registers the token scheme

ecr = "me/identities/ecr/"

urlpatterns = [
    path(ecr, views.EcrIdentityView.as_view(), name="ecr-identity"),
    path(
        f"{ecr}credentials/",
        views.EcrIdentityCredentialsView.as_view(),
        name="ecr-identity-credentials",
    ),
    path(f"{ecr}rotate/", views.EcrIdentityRotateView.as_view(), name="ecr-identity-rotate"),
]
