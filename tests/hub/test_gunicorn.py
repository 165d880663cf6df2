"""The web process as deployed: gunicorn with hub/gunicorn_conf.py under production
settings. Probes answer by pod IP, every log line (gunicorn's access and error logs,
Django's) is JSON with secrets redacted, and /metrics adds up the requests of every
gunicorn worker process."""

import json
import re
import subprocess
import sys
import urllib.error
import urllib.request

from tests.hub.test_worker_processes import NOT_JSON_LOG_LINE, aws_secret, production_env
from tests.procs import ROOT, bin_path, free_port, start, stop, wait_for_port, wait_until


def get(port: int, path: str, host: str = "10.1.2.3:8000") -> tuple[int, str]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Host": host})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_gunicorn_as_deployed(tmp_path):
    port = free_port()
    env = production_env(
        tmp_path,
        CELERY_BROKER_URL="filesystem://",
        HUB_SSL_REDIRECT="0",
        HUB_BIND=f"127.0.0.1:{port}",
        WEB_CONCURRENCY="2",
    )
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=180,
    )
    proc = start(
        "gunicorn",
        [bin_path("gunicorn"), "-c", "python:hub.gunicorn_conf", "hub.wsgi:application"],
        env=env,
        log_dir=tmp_path,
    )
    try:
        wait_for_port(port, proc=proc)
        assert get(port, "/livez") == (200, '{"status": "ok"}')
        status, body = get(port, "/readyz")
        assert status == 200, body
        assert json.loads(body)["checks"] == {"database": "ok", "broker": "ok"}

        secret = aws_secret()
        for _ in range(20):
            assert get(port, "/api/v1/projects/", host="hub.example.com")[0] == 401
        assert get(port, f"/api/v1/projects/?password={secret}", host="hub.example.com")[0] == 401
        assert get(port, "/api/v1/projects/", host="evil.example.net")[0] == 400

        def login_count(text: str) -> float:
            match = re.search(
                r'^hub_http_request_duration_seconds_count\{method="GET",'
                r'route="api/v1/projects/",status="401"\} (\S+)$',
                text,
                re.M,
            )
            return float(match.group(1)) if match else 0

        # Whichever worker answers the scrape, it counts every worker's requests.
        for _ in range(4):
            status, text = get(port, "/metrics")
            assert status == 200 and login_count(text) == 21, text[-3000:]

        wait_until(
            lambda: "evil.example.net" in proc.log(50_000),
            timeout=10,
            proc=proc,
            what="the access log",
        )
    finally:
        stop(proc, group=True)
    log = proc.log(200_000)
    assert secret not in log
    assert not [line for line in log.splitlines() if NOT_JSON_LOG_LINE.match(line)], log
    records = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    access = [r for r in records if r["logger"] == "gunicorn.access"]
    assert len(access) >= 26, log
    redacted = [r for r in access if "password=[redacted]" in r["message"]]
    assert redacted and redacted[0]["http"]["method"] == "GET", access[-3:]
    assert any(
        r["logger"] == "gunicorn.error" and "Booting worker" in r["message"] for r in records
    ), log
    assert any(r["logger"] == "django.security.DisallowedHost" for r in records), log
