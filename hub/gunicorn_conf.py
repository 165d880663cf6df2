"""gunicorn's settings for the web process (the image's command, Kubernetes):

    gunicorn -c python:hub.gunicorn_conf hub.wsgi:application

Timeouts: a request may take 60 s; on SIGTERM a worker gets 30 s to finish what it is
answering (Kubernetes' terminationGracePeriodSeconds and compose's stop_grace_period must be
longer). Workers are recycled after 1000 (+ up to 100) requests. The access log (stdout) and
the error log (stderr) are JSON lines in production through the hub's formatter and secret
redaction (hub/logging.py), like Django's, the worker's and beat's.

Prometheus: every worker process counts its own requests, so PROMETHEUS_MULTIPROC_DIR names a
directory of this server's processes (a fresh one under the temporary directory unless set;
emptied at start) and /metrics adds them up (hub/metrics.py). prometheus_client is not
imported here: the variable must be set before any process imports it.
"""

import os
import shutil
import tempfile

from hub.logging import default_format, logging_config

bind = os.environ.get("HUB_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
timeout = 60
graceful_timeout = 30
keepalive = 5
max_requests = 1000
max_requests_jitter = 100
# The workers' heartbeat files in memory, not on a (read-only or slow) disk.
_SHM = "/dev/shm"  # noqa: S108 - gunicorn's own files, in a directory made for them
worker_tmp_dir = _SHM if os.path.isdir(_SHM) else None
accesslog = "-"
errorlog = "-"
# %(M)s: milliseconds. The JSON formatter also writes these as fields under "http".
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'

_format = default_format(os.environ)
logconfig_dict = logging_config(
    log_format=_format, level=os.environ.get("HUB_LOG_LEVEL", "INFO").upper()
)
logconfig_dict["handlers"]["access"] = {
    "class": "logging.StreamHandler",
    "formatter": _format,
    "filters": ["redact_secrets"],
    "stream": "ext://sys.stdout",
}
logconfig_dict["loggers"].update(
    {
        "gunicorn.error": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "gunicorn.access": {"handlers": ["access"], "level": "INFO", "propagate": False},
    }
)

_own_metrics_dir = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")


def on_starting(server):
    # In the master, before any worker is forked (or imports prometheus_client); not at
    # import, so reading this module (as the tests do) changes nothing in the reader.
    if _own_metrics_dir:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="hub-metrics-web-")
    # Files of an earlier run in a directory the operator named would be added in.
    path = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    os.makedirs(path, exist_ok=True)
    for name in os.listdir(path):
        if name.endswith(".db"):
            os.unlink(os.path.join(path, name))


def child_exit(server, worker):
    # Not at the top: prometheus_client picks its mode on import, and the workers fork
    # from this process, so PROMETHEUS_MULTIPROC_DIR must be set (on_starting) first.
    from prometheus_client import multiprocess  # noqa: PLC0415

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if _own_metrics_dir:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
