from django.conf import settings


class SecurityHeadersMiddleware:
    """Content-Security-Policy and Permissions-Policy on every response. Everything the
    hub serves comes from its own origin, so the policy allows nothing else."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.csp = "; ".join(f"{k} {v}".strip() for k, v in settings.HUB_CSP.items())

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", self.csp)
        response.headers.setdefault(
            "Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()"
        )
        response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        return response
