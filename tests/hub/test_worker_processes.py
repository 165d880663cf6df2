"""Real Celery processes: a prefork worker under production settings logs JSON lines with
every secret redacted (logged, printed or raised), counts its tasks in Prometheus metrics
summed over its child processes, and answers `hub_probe worker`; beat records its
heartbeat (`hub_probe beat`) and serves its metrics.

Needs Redis (HUB_TEST_REDIS_URL); the beat test also PostgreSQL (beat writes to the
database this test reads)."""

import base64
import json
import os
import re
import secrets
import socket
import urllib.request
from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from hub import heartbeat
from hub.celery import app
from identities import tokens
from tests.docker_repos.test_integration import _reset_broker_connections, worker_database_url
from tests.procs import bin_path, free_port, start, stop, wait_until

REDIS_URL = os.environ.get("HUB_TEST_REDIS_URL", "")
needs_redis = pytest.mark.skipif(
    not REDIS_URL, reason="set HUB_TEST_REDIS_URL=redis://... to run real Celery processes"
)
pytestmark = [pytest.mark.integration]

# Celery's own log format and the hub's text format: neither may appear in production.
NOT_JSON_LOG_LINE = re.compile(r"^\[\d{4}-\d\d-\d\d |^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ ")


def aws_secret() -> str:
    """40 characters of base64 with both cases, like an AWS secret access key."""
    while True:
        value = base64.b64encode(os.urandom(30)).decode()
        if re.search("[A-Z]", value) and re.search("[a-z]", value):
            return value


def production_env(tmp_path, **extra) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("HUB_", "AWS_", "CELERY_", "PROMETHEUS_"))
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "hub.settings",
            "HUB_ENV": "production",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "HUB_FERNET_KEYS": Fernet.generate_key().decode(),
            "ALLOWED_HOSTS": "hub.example.com",
            "HUB_IAM_PERMISSIONS_BOUNDARY": "arn:aws:iam::123456789012:policy/boundary",
            "HUB_VAR_DIR": str(tmp_path / "var"),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'worker.sqlite3'}",
            "HUB_DB_CONN_MAX_AGE": "0",
            "AWS_DEFAULT_REGION": "eu-west-2",
        }
    )
    env.update(extra)
    return env


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:  # noqa: S310
        return response.read().decode()


def json_records(log: str) -> list[dict]:
    return [json.loads(line) for line in log.splitlines() if line.startswith("{")]


@pytest.fixture
def queue():
    name = f"hub-logs-{os.getpid()}-{secrets.token_hex(4)}"
    saved = {key: app.conf[key] for key in ("broker_url", "broker_transport_options")}
    app.conf.update(broker_url=REDIS_URL, broker_transport_options={})
    _reset_broker_connections(app)
    try:
        yield name
    finally:
        app.conf.update(saved)
        _reset_broker_connections(app)


@pytest.fixture
def worker(queue, tmp_path):
    port = free_port()
    node = f"{queue}@{socket.gethostname()}"
    proc = start(
        "worker",
        [
            bin_path("celery"),
            "-A",
            "hub",
            "worker",
            "--pool=prefork",
            "--concurrency=2",
            "-Q",
            queue,
            "-n",
            node,
            "--loglevel=INFO",
            "-I",
            "tests.worker_tasks",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        env=production_env(tmp_path, CELERY_BROKER_URL=REDIS_URL, HUB_METRICS_PORT=str(port)),
        log_dir=tmp_path,
    )
    try:
        wait_until(
            lambda: " ready." in proc.log(),
            timeout=60,
            proc=proc,
            what="the Celery worker to be ready",
        )
        yield type("Worker", (), {"proc": proc, "node": node, "metrics_port": port})
    finally:
        stop(proc, group=True)


@needs_redis
def test_a_real_worker_logs_json_without_secrets(worker, queue):
    secret, token = aws_secret(), tokens.generate()[0]
    app.send_task("tests.worker_tasks.log_secrets", args=[secret, token], queue=queue)
    app.send_task("tests.worker_tasks.fail_with_secret", args=[secret], queue=queue)
    proc = worker.proc
    wait_until(
        lambda: "printed" in proc.log(100_000) and "AWS refused" in proc.log(100_000),
        timeout=30,
        proc=proc,
        what="both tasks to have run",
    )

    log = proc.log(100_000)
    assert secret not in log and token not in log, log
    assert not [line for line in log.splitlines() if NOT_JSON_LOG_LINE.match(line)], log
    records = json_records(log)
    by_message = {record["message"]: record for record in records}
    assert "using key [redacted] and token [redacted]" in by_message, log
    logged = by_message["using key [redacted] and token [redacted]"]
    assert logged["logger"] == "tests.worker_tasks" and logged["level"] == "INFO"
    assert logged["task_name"] == "tests.worker_tasks.log_secrets" and logged["task_id"]
    assert by_message["with extra fields"]["credential"] == "[redacted]"
    assert any(r["message"] == "printed [redacted]" for r in records), log
    failures = [r for r in records if "RuntimeError" in r.get("exc_info", "")]
    assert failures and all("AWS refused the key [redacted]" in r["exc_info"] for r in failures), (
        failures
    )
    assert any(r["logger"] == "celery.app.trace" and r["level"] == "ERROR" for r in failures)
    assert any(r["message"].endswith(" ready.") for r in records)
    assert not [r for r in records if r["logger"] == "celery.utils.dispatch.signal"], log

    # Metrics: the tasks ran in the pool's child processes; the main process serves the sum.
    def outcome(task, result):
        line = f'hub_task_outcomes_total{{outcome="{result}",task="tests.worker_tasks.{task}"}} 1.0'
        return line in scrape(worker.metrics_port)

    wait_until(
        lambda: outcome("log_secrets", "succeeded") and outcome("fail_with_secret", "failed"),
        timeout=15,
        what="the task outcomes in the worker's metrics",
    )
    text = scrape(worker.metrics_port)
    assert "hub_worker_up 1.0" in text and "hub_worker_pool_processes 2.0" in text
    assert 'hub_task_duration_seconds_count{task="tests.worker_tasks.log_secrets"} 1.0' in text
    assert secret not in text


@needs_redis
def test_hub_probe_worker_answers_while_the_worker_runs(worker, queue):
    call_command("hub_probe", "worker", "--name", worker.node, "--timeout", "5")
    stop(worker.proc, group=True)
    with pytest.raises(SystemExit) as exited:
        call_command("hub_probe", "worker", "--name", worker.node, "--timeout", "2")
    assert exited.value.code == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="beat writes its heartbeat to a database this test must share "
    "(DATABASE_URL=postgres://...)",
)
def test_beat_records_its_heartbeat_and_serves_metrics(tmp_path, settings):
    port = free_port()
    env = production_env(
        tmp_path,
        DATABASE_URL=worker_database_url(),
        CELERY_BROKER_URL="filesystem://",  # under tmp_path/var
        HUB_BEAT_HEARTBEAT_EVERY="1",
        HUB_METRICS_PORT=str(port),
    )
    proc = start(
        "beat",
        [
            bin_path("celery"),
            "-A",
            "hub",
            "beat",
            "--loglevel=INFO",
            "-s",
            str(tmp_path / "celerybeat-schedule"),
        ],
        env=env,
        log_dir=tmp_path,
    )
    try:
        wait_until(
            lambda: heartbeat.read_all().get(heartbeat.BEAT),
            timeout=60,
            proc=proc,
            what="beat's first heartbeat",
        )
        first = heartbeat.read_all()[heartbeat.BEAT].at
        wait_until(
            lambda: heartbeat.read_all()[heartbeat.BEAT].at > first,
            timeout=20,
            proc=proc,
            what="beat's next heartbeat",
        )
        call_command("hub_probe", "beat")
        text = scrape(port)
        assert "hub_beat_up 1.0" in text
        assert re.search(r"^hub_beat_heartbeats_recorded_total [1-9]", text, re.M), text
        assert not [line for line in proc.log().splitlines() if NOT_JSON_LOG_LINE.match(line)], (
            proc.log()
        )
    finally:
        stop(proc)
    heartbeat.record(
        heartbeat.BEAT, at=timezone.now() - timedelta(seconds=settings.HUB_BEAT_STALE_AFTER + 1)
    )
    with pytest.raises(SystemExit) as exited:
        call_command("hub_probe", "beat")
    assert exited.value.code == 1
