"""Prometheus metrics of the Celery worker and beat, served on HUB_METRICS_PORT at /metrics
(0, the default under `make run` and in tests: not served). Hooked up in hub/celery.py.

Worker: task outcomes and durations (Celery's signals, in whichever process runs the task)
and the reconciler's passes. Beat: the heartbeats it recorded. Both: `hub_<role>_up`.

A prefork worker runs tasks in child processes, so the worker uses prometheus_client's
multiprocess mode: before any metric exists (`prepare_process_group`, at `celeryd_init`, in
the main process) PROMETHEUS_MULTIPROC_DIR names an empty directory of this process group
(made under the temporary directory unless the operator set one; emptied at start, since
files of an earlier run would be added in), every process writes its values there, and the
main process serves their sum. Counters of children that ended stay in (a sum must never go
down).

Nothing here imports prometheus_client at module level: the choice of mode is made when it
is first imported, which must come after `prepare_process_group`."""

import atexit
import logging
import os
import shutil
import sys
import tempfile
import threading
import time
from types import SimpleNamespace

from django.conf import settings

logger = logging.getLogger(__name__)

TASK_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
PASS_BUCKETS = (0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)

_lock = threading.Lock()
_metrics: SimpleNamespace | None = None
_task_started: dict[str, float] = {}


def metrics() -> SimpleNamespace:
    global _metrics
    with _lock:
        if _metrics is None:
            # Not at the top: prometheus_client picks its mode on import (see the docstring).
            from prometheus_client import Counter, Histogram  # noqa: PLC0415

            _metrics = SimpleNamespace(
                task_outcomes=Counter(
                    "hub_task_outcomes_total",
                    "Celery task runs by task and outcome (succeeded, failed, retried, revoked).",
                    ["task", "outcome"],
                ),
                task_duration=Histogram(
                    "hub_task_duration_seconds",
                    "Time a Celery task run took, by task.",
                    ["task"],
                    buckets=TASK_BUCKETS,
                ),
                reconcile_passes=Counter(
                    "hub_reconcile_passes_total",
                    "Reconciler passes by outcome (completed, or exception: the pass broke off).",
                    ["outcome"],
                ),
                reconcile_duration=Histogram(
                    "hub_reconcile_pass_duration_seconds",
                    "Time a completed reconciler pass took.",
                    buckets=PASS_BUCKETS,
                ),
                reconcile_changes=Counter(
                    "hub_reconcile_changes_total", "Repairs and re-sent requests of the reconciler."
                ),
                reconcile_errors=Counter(
                    "hub_reconcile_errors_total",
                    "Objects the reconciler could not check or repair.",
                ),
                beat_heartbeats=Counter(
                    "hub_beat_heartbeats_recorded_total",
                    "Heartbeats Celery beat recorded in the database.",
                ),
            )
        return _metrics


# --- what the processes report ------------------------------------------------------------


def task_started(task_id: str) -> None:
    _task_started[task_id] = time.perf_counter()


def task_finished(task_id: str, task_name: str) -> None:
    started = _task_started.pop(task_id, None)
    if started is not None:
        metrics().task_duration.labels(task_name).observe(time.perf_counter() - started)


def task_outcome(task_name: str, outcome: str) -> None:
    metrics().task_outcomes.labels(task_name, outcome).inc()


def reconcile_pass(
    *, outcome: str, duration: float = 0.0, changes: int = 0, errors: int = 0
) -> None:
    m = metrics()
    m.reconcile_passes.labels(outcome).inc()
    if outcome == "completed":
        m.reconcile_duration.observe(duration)
        m.reconcile_changes.inc(changes)
        m.reconcile_errors.inc(errors)


def beat_heartbeat_recorded() -> None:
    metrics().beat_heartbeats.inc()


# --- serving ------------------------------------------------------------------------------


def enabled() -> bool:
    return settings.HUB_METRICS_PORT > 0


def prepare_process_group(role: str) -> str | None:
    """Multiprocess mode for this process and the children it will fork. Call before
    anything creates a metric; returns the directory (None when metrics are off)."""
    if not enabled():
        return None
    values = sys.modules.get("prometheus_client.values")
    if values is not None and not getattr(values.ValueClass, "_multiprocess", False):
        raise RuntimeError(
            "prometheus_client was imported before the metrics directory was "
            "set: the worker's children would count in memory nobody reads"
        )
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if path:
        os.makedirs(path, exist_ok=True)
        for name in os.listdir(path):  # an earlier run's files would be added in
            if name.endswith(".db"):
                os.unlink(os.path.join(path, name))
    else:
        path = tempfile.mkdtemp(prefix=f"hub-metrics-{role}-")
        atexit.register(shutil.rmtree, path, True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
    return path


class _Up:
    """`hub_<role>_up 1` (and the pool size): absent when the process is gone."""

    def __init__(self, role: str, processes: int | None):
        self.role, self.processes = role, processes

    def collect(self):
        # Not at the top: prometheus_client picks its mode on import (see the docstring).
        from prometheus_client.core import GaugeMetricFamily  # noqa: PLC0415

        yield GaugeMetricFamily(f"hub_{self.role}_up", f"1 while the {self.role} runs.", value=1)
        if self.processes is not None:
            yield GaugeMetricFamily(
                "hub_worker_pool_processes",
                "Processes (or threads) of the worker's pool.",
                value=self.processes,
            )


def serve(role: str, *, processes: int | None = None):
    """Serve /metrics on HUB_METRICS_PORT from a thread of this process (the worker's
    main process, or beat). Returns the server, or None when metrics are off."""
    if not enabled():
        return None
    # Not at the top: prometheus_client picks its mode on import (see the docstring).
    from prometheus_client import REGISTRY, CollectorRegistry, start_http_server  # noqa: PLC0415
    from prometheus_client.multiprocess import MultiProcessCollector  # noqa: PLC0415

    metrics()  # every metric exists (at zero) from the first scrape
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    registry.register(_Up(role, processes))
    server, _thread = start_http_server(
        settings.HUB_METRICS_PORT,
        addr="0.0.0.0",  # noqa: S104
        registry=registry,
    )
    logger.info("%s: Prometheus metrics on port %s at /metrics", role, settings.HUB_METRICS_PORT)
    return server
