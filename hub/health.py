"""Probes and metrics of the web process.

- `/livez`: the process answers. No database, no broker: a Redis or PostgreSQL blip must
  not make Kubernetes restart every web pod.
- `/readyz` (and its old name `/healthz`): the database and the broker answer; the age of
  Celery beat's last heartbeat is always in the body, but a stale beat fails readiness only
  with HUB_READY_REQUIRES_BEAT=1 (a scheduler fault must not take every web pod out of
  service; the BeatHeartbeatStale alert reports it).
- `/metrics`: Prometheus (hub/metrics.py); with HUB_METRICS_TOKEN set it asks for
  `Authorization: Bearer <token>`.

hub.probes.ProbeMiddleware answers these paths before the rest of the middleware, so they
work whatever the Host header; the URLconf names them for `reverse()`."""

import hmac
import logging

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from . import heartbeat
from .celery import app as celery_app
from .metrics import exposition

logger = logging.getLogger(__name__)


def check_database() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        logger.warning("readyz: database check failed: %s", exc.__class__.__name__)
        return exc.__class__.__name__
    return None


def check_broker() -> str | None:
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:
        logger.warning("readyz: broker check failed: %s", exc.__class__.__name__)
        return exc.__class__.__name__
    return None


def beat_report(*, database_ok: bool) -> dict:
    """Beat's heartbeat as /readyz shows it."""
    report = {
        "heartbeat_age_seconds": None,
        "stale": None,
        "stale_after_seconds": settings.HUB_BEAT_STALE_AFTER,
        "fails_readiness": settings.HUB_READY_REQUIRES_BEAT,
    }
    if not database_ok:
        return report  # unknown: the heartbeat lives in the database
    try:
        state = heartbeat.beat_state()
    except Exception as exc:
        logger.warning("readyz: could not read beat's heartbeat: %s", exc.__class__.__name__)
        return report
    report.update(heartbeat_age_seconds=state.age_seconds, stale=state.stale)
    return report


def _checked(error: str | None) -> str:
    return "ok" if error is None else f"error: {error}"


@never_cache
@require_safe
@login_not_required
def livez(request):
    return JsonResponse({"status": "ok"})


@never_cache
@require_safe
@login_not_required
def readyz(request):
    errors = {"database": check_database(), "broker": check_broker()}
    beat = beat_report(database_ok=errors["database"] is None)
    if settings.HUB_READY_REQUIRES_BEAT:
        errors["beat"] = (
            None
            if beat["stale"] is False
            else "unknown"
            if beat["stale"] is None
            else "no heartbeat"
            if beat["heartbeat_age_seconds"] is None
            else "stale"
        )
    ok = all(error is None for error in errors.values())
    body = {
        "status": "ok" if ok else "unavailable",
        "checks": {name: _checked(error) for name, error in errors.items()},
        "beat": beat,
    }
    return JsonResponse(body, status=200 if ok else 503)


@never_cache
@require_safe
@login_not_required
def metrics(request):
    token = settings.HUB_METRICS_TOKEN
    if token:
        given = request.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            response = HttpResponse(
                "Bearer token required\n", status=401, content_type="text/plain"
            )
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
    from prometheus_client import CONTENT_TYPE_LATEST  # noqa: PLC0415 - picks its mode on import

    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)
