from csp.decorators import csp_update
from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from . import breakglass, health, oidc, views
from .api.views import NotFoundView

admin.site.site_header = "Platform Hub administration"
admin.site.site_title = "Platform Hub admin"
admin.site.index_title = "Operations"
# The admin signs in through the hub's own sign-in page (with its lockout and OIDC).
admin.site.login = views.admin_login  # type: ignore[method-assign]

# The REST API (shared/API.md): every app's endpoints under /api/v1/, in one namespace
# ("api:repo-detail"); any other address there is a 404 in the API's error shape.
# Swagger UI (drf-spectacular-sidecar's copy, served by the hub; its script from a URL of
# its own, so no inline script) draws its icons as data: images: only its page allows them.
api_docs = csp_update({"img-src": "data:"})(
    SpectacularSwaggerSplitView.as_view(url_name="api-schema")
)

api_v1: list[URLPattern | URLResolver] = [
    path("", include("projects.api.urls")),
    path("", include("docker_repos.api.urls")),
    path("", include("identities.api.urls")),
    re_path(r"^[\s\S]*$", NotFoundView.as_view()),
]

urlpatterns = [
    path("", views.home, name="home"),
    # Answered by hub.probes.ProbeMiddleware before the URLconf; named here for reverse().
    path("livez", health.livez, name="livez"),
    path("readyz", health.readyz, name="readyz"),
    path("healthz", health.readyz, name="healthz"),
    path("metrics", health.metrics, name="metrics"),
    # allauth's OpenID Connect sign-in and callback, at allauth's addresses (hub/oidc.py).
    path("accounts/oidc/<str:provider_id>/login/", oidc.login, name="hub_oidc_login"),
    path(
        "accounts/oidc/<str:provider_id>/login/callback/", oidc.callback, name="hub_oidc_callback"
    ),
    path("accounts/break-glass/<str:token>/", breakglass.sign_in, name="hub_break_glass"),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    path("projects/", include("projects.urls")),
    path("", include("docker_repos.urls")),
    path("identities/", include("identities.urls")),
    path("api/v1/", include((api_v1, "api"))),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", api_docs, name="api-docs"),
]

handler403 = "hub.views.error_403"
handler404 = "hub.views.error_404"
handler500 = "hub.views.error_500"
