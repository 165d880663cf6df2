from django.conf import settings
from django.contrib.auth import middleware as auth_middleware
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import Resolver404, resolve, reverse


class PermissionsPolicyMiddleware:
    """Permissions-Policy on every response (the browser features the hub never uses).
    Content-Security-Policy is django-csp's (settings.CONTENT_SECURITY_POLICY), the
    Cross-Origin-Opener-Policy Django's (SecurityMiddleware)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", settings.HUB_PERMISSIONS_POLICY)
        return response


class LoginRequiredMiddleware(auth_middleware.LoginRequiredMiddleware):
    """Django's: every page needs a signed-in person. A live fragment (an htmx poll) asked
    for after the session ended gets the page reloaded instead (which then goes to sign
    in): the sign-in page must never be swapped into a table row."""

    def handle_no_permission(self, request, view_func):
        if request.headers.get("HX-Request") == "true":
            return HttpResponse(status=204, headers={"HX-Refresh": "true"})
        return super().handle_no_permission(request, view_func)


class FormAddressMiddleware:
    """A form's address opened as a page (a bookmark, a reopened tab, the address bar
    after a reveal) answers the hub's own page, pointing at the page the form belongs
    to, instead of the browser's blank 405."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            response.status_code == 405
            and request.method in ("GET", "HEAD")
            and not request.path.startswith(("/api/", "/admin/"))
        ):
            page = render(request, "405.html", {"back_url": page_above(request.path)}, status=405)
            page["Allow"] = response.get("Allow", "POST")
            return page
        return response


def page_above(path: str) -> str:
    """The nearest address above `path` that is a page (a view that answers GET), e.g. a
    robot's page above its reveal form's address; the projects list if none is."""
    parts = [part for part in path.split("/") if part]
    while parts:
        parts.pop()
        candidate = "/" + "".join(f"{part}/" for part in parts)
        try:
            match = resolve(candidate)
        except Resolver404:
            continue
        view_class = getattr(match.func, "view_class", None)
        if view_class is not None and hasattr(view_class, "get"):
            return candidate
    return reverse("projects:list")
