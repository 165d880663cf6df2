"""The hub's URLs, and one more for the browser tests: an address that fails, so the
hub's own 500 page can be seen (and checked) as a person would see it."""

from django.urls import path

from hub.urls import handler403, handler404, handler500, urlpatterns  # noqa: F401


def fail(request):
    raise RuntimeError("The browser tests' deliberate failure (tests/e2e/urls.py).")


urlpatterns = [path("e2e/fail/", fail), *urlpatterns]
