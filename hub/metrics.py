"""Prometheus metrics of the web process: `/metrics` (served by hub.probes).

What it shows, and nothing else: request latency by URL *pattern* (never the address
asked, so no project, repository or person's name), how many objects of each kind are in
each status, and the background processes' heartbeats and the reconciler's last pass as
recorded in the database (hub.heartbeat). Counts and times only: no names, no secrets.

The database figures are read at scrape time in a fixed number of queries (one per kind,
one for the heartbeats), whatever the number of objects.

Under gunicorn every worker process counts its own requests: hub/gunicorn_conf.py sets
PROMETHEUS_MULTIPROC_DIR before any of them starts, and a scrape (answered by whichever
worker) adds up every process's files.

prometheus_client is imported only when first used: it picks single- or multi-process
mode on import, and Django's checks import this module (the middleware) in processes that
choose their mode later (the Celery worker, hub/worker_metrics.py)."""

import os
import threading
import time

from django.apps import apps
from django.conf import settings
from django.db.models import Count

from . import heartbeat
from .choices import Status

# Seconds; the API's p95 sits near 50 ms, pages near 25 ms (README, Performance).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
UNMATCHED_ROUTE = "<unmatched>"
_lock = threading.Lock()
_request_latency = None


def request_latency():
    global _request_latency
    with _lock:
        if _request_latency is None:
            from prometheus_client import Histogram  # noqa: PLC0415 - picks its mode on import

            _request_latency = Histogram(
                "hub_http_request_duration_seconds",
                "Time to answer a web request, by method, URL pattern and status code.",
                ["method", "route", "status"],
                buckets=LATENCY_BUCKETS,
            )
        return _request_latency


def route_of(request) -> str:
    """The URL pattern that answered (e.g. `projects/<slug:shortname>/`), never the path."""
    match = getattr(request, "resolver_match", None)
    return match.route if match is not None and match.route else UNMATCHED_ROUTE


class RequestLatencyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        request_latency().labels(
            request.method if request.method in _METHODS else "other",
            route_of(request),
            str(response.status_code),
        ).observe(time.perf_counter() - started)
        return response


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class HubStateCollector:
    """Objects by kind and status, heartbeats and the reconciler's last pass, read from
    the database at each scrape."""

    def collect(self):
        # Not at the top: prometheus_client picks its mode on import (see the docstring).
        from prometheus_client.core import GaugeMetricFamily  # noqa: PLC0415

        objects = GaugeMetricFamily(
            "hub_objects", "Objects of each kind in each status.", labels=["kind", "status"]
        )
        for kind, label in settings.HUB_METRICS_OBJECT_MODELS.items():
            model = apps.get_model(label)
            counts = dict.fromkeys(Status.values, 0)
            for row in (
                model.objects.order_by()
                .values("status")
                .annotate(n=Count("pk"))
                .values_list("status", "n")
            ):
                counts[row[0]] = row[1]
            for status, count in counts.items():
                objects.add_metric([kind, status], count)
        yield objects

        rows = heartbeat.read_all()
        beat = rows.get(heartbeat.BEAT)
        if beat is not None:
            yield _gauge(
                "hub_beat_heartbeat_timestamp_seconds",
                "When Celery beat last recorded its heartbeat (Unix time).",
                beat.at.timestamp(),
            )
            yield _gauge(
                "hub_beat_heartbeat_age_seconds",
                "Seconds since Celery beat last recorded its heartbeat.",
                heartbeat.beat_state(rows).age_seconds,
            )
        last = rows.get(heartbeat.RECONCILE)
        if last is not None:
            yield _gauge(
                "hub_reconcile_last_success_timestamp_seconds",
                "When the last reconciler pass that ran to its end finished (Unix time).",
                last.at.timestamp(),
            )
            for name, key, text in (
                ("duration_seconds", "duration_seconds", "How long it took."),
                ("changes", "changes", "Repairs and re-sent requests it made."),
                ("errors", "errors", "Objects it could not check or repair."),
            ):
                yield _gauge(
                    f"hub_reconcile_last_pass_{name}",
                    f"The last reconciler pass: {text}",
                    last.detail.get(key, 0),
                )


def _gauge(name: str, documentation: str, value: float):
    from prometheus_client.core import GaugeMetricFamily  # noqa: PLC0415 - picks its mode on import

    return GaugeMetricFamily(name, documentation, value=value)


class _ThisProcess:
    """This process's own metrics (one process: runserver, tests)."""

    def collect(self):
        from prometheus_client import REGISTRY  # noqa: PLC0415 - picks its mode on import

        yield from REGISTRY.collect()


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def exposition() -> bytes:
    """The text of one scrape of the web process."""
    # Not at the top: prometheus_client picks its mode on import (see the docstring).
    from prometheus_client import CollectorRegistry, generate_latest  # noqa: PLC0415
    from prometheus_client.multiprocess import MultiProcessCollector  # noqa: PLC0415

    registry = CollectorRegistry(auto_describe=False)
    if multiprocess_dir():
        MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())
    registry.register(HubStateCollector())
    return generate_latest(registry)
