"""Answers the probes and /metrics before any other middleware.

A kubelet asks `GET http://<pod IP>:8000/readyz` with the pod IP as Host, which is not in
ALLOWED_HOSTS (CommonMiddleware would answer 400), and over plain http (SecurityMiddleware
would redirect it to https). These four paths are answered here, first in MIDDLEWARE, by
exact path and for GET/HEAD only. That is safe because their answers never use the Host
header (no URL is built, no redirect, no cookie, no session, no page) and say nothing about
any person or project: status words, ages and counts."""

from django.http import HttpResponseNotAllowed

from . import health

ANSWERED = {
    "/livez": health.livez,
    "/readyz": health.readyz,
    "/healthz": health.readyz,  # the earlier name (Docker's HEALTHCHECK, the e2e stack)
    "/metrics": health.metrics,
}


class ProbeMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        view = ANSWERED.get(request.path_info)
        if view is None:
            return self.get_response(request)
        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET", "HEAD"])
        return view(request)
