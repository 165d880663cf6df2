from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.views.generic import RedirectView


def home(request):
    return redirect("projects:list")


def admin_login(request, extra_context=None):
    """The admin's sign-in is the hub's own (with its lockout and OIDC). Someone signed in
    but not staff is refused here: sending them to sign in would bring them straight back
    (a redirect loop)."""
    if admin.site.has_permission(request):
        return redirect("admin:index")
    if request.user.is_authenticated:
        raise PermissionDenied(
            "The admin is for hub admins only: ask one if you need something changed there."
        )
    return RedirectView.as_view(pattern_name="account_login", query_string=True)(request)


def error_403(request, exception=None):
    return render(request, "403.html", {"message": str(exception or "")}, status=403)


def error_404(request, exception=None):
    return render(request, "404.html", status=404)


def error_500(request):
    return render(request, "500.html", status=500)
