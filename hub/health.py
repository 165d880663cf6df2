import logging

from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .celery import app as celery_app

logger = logging.getLogger(__name__)


def check_database() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        logger.warning("healthz: database check failed: %s", exc.__class__.__name__)
        return exc.__class__.__name__
    return None


def check_broker() -> str | None:
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:
        logger.warning("healthz: broker check failed: %s", exc.__class__.__name__)
        return exc.__class__.__name__
    return None


@never_cache
@require_GET
@login_not_required
def healthz(request):
    checks = {"database": check_database(), "broker": check_broker()}
    ok = all(error is None for error in checks.values())
    body = {
        "status": "ok" if ok else "unavailable",
        "checks": {
            name: "ok" if error is None else f"error: {error}" for name, error in checks.items()
        },
    }
    return JsonResponse(body, status=200 if ok else 503)
