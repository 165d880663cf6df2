"""`make run`: the whole hub on one machine, stopped with Ctrl-C.

Starts a local AWS stand-in (moto server), the web server, a Celery worker and Celery
beat. Uses DATABASE_URL, CELERY_BROKER_URL and AWS settings from the environment when
given; otherwise SQLite and a file-system broker under var/, and moto on HUB_AWS_PORT.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings

from hub import awsstandin, devenv

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def wait_for_port(host: str, port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            sock.settimeout(0.5)
            if sock.connect_ex((host, port)) == 0:
                return
        time.sleep(0.2)
    raise SystemExit(f"Nothing answered on {host}:{port} after {timeout:.0f}s")


def _boundary_arn(env) -> str:
    os.environ.update(env)

    return settings.HUB_IAM_PERMISSIONS_BOUNDARY


def process_env(environ) -> dict[str, str]:
    """The processes' environment: the caller's, with the development defaults. Debug is
    off, so people see the hub's own 404/403/500 pages, not Django's (which list every
    URL); `HUB_DEBUG=1 make run` turns it on. Static files are served either way
    (whitenoise, from the apps' folders: WHITENOISE_USE_FINDERS in development)."""
    env = dict(environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings")
    env.setdefault("HUB_DEBUG", "0")
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def wants_standin(env: dict[str, str]) -> bool:
    """The local AWS stand-in runs unless an endpoint is given or real AWS is asked for."""
    return not env.get("AWS_ENDPOINT_URL") and env.get("HUB_USE_REAL_AWS") != "1"


def development_settings(env: dict[str, str], *, aws_port: int) -> dict[str, str]:
    """Complete `env` with the settings every process of `make run` shares (and return
    them, to be recorded): explicit values where the environment has none."""
    var_dir = Path(env.get("HUB_VAR_DIR") or ROOT / "var").resolve()
    env["HUB_VAR_DIR"] = str(var_dir)
    env.setdefault("DATABASE_URL", f"sqlite:///{var_dir / 'hub.sqlite3'}")
    env.setdefault("CELERY_BROKER_URL", "filesystem://")
    env.setdefault("AWS_DEFAULT_REGION", "eu-west-2")
    recorded = ["HUB_VAR_DIR", "DATABASE_URL", "CELERY_BROKER_URL", "AWS_DEFAULT_REGION"]
    if wants_standin(env):
        env["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{aws_port}"
        # moto accepts any credentials: dummy ones, so no real key is ever sent to the
        # stand-in nor written to var/dev.env, and boto3 never looks for real ones.
        env["AWS_ACCESS_KEY_ID"] = "testing"
        env["AWS_SECRET_ACCESS_KEY"] = "testing"
        recorded += ["AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]
    elif env.get("HUB_USE_REAL_AWS") == "1":
        recorded.append("HUB_USE_REAL_AWS")  # your own credentials, never recorded
    else:
        recorded.append("AWS_ENDPOINT_URL")  # an endpoint of your own choosing
    return {name: env[name] for name in recorded}


def main() -> int:
    env = process_env(os.environ)
    port = int(env.get("HUB_PORT", "8000"))
    aws_port = int(env.get("HUB_AWS_PORT", "5000"))
    use_moto = wants_standin(env)  # before development_settings() points env at it
    recorded = devenv.write(
        development_settings(env, aws_port=aws_port), var_dir=Path(env["HUB_VAR_DIR"])
    )
    commands = _commands(env, port, aws_port, use_moto=use_moto)

    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], env=env, check=True, cwd=ROOT)
    subprocess.run([*manage, "hub_seed_demo"], env=env, check=True, cwd=ROOT)

    processes: list[tuple[str, subprocess.Popen]] = []
    stop = _stopper(processes)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    for name, command in commands:
        processes.append((name, subprocess.Popen(command, env=env, cwd=ROOT)))
        if name == "aws":
            wait_for_port("127.0.0.1", aws_port)
            awsstandin.prepare(env["AWS_ENDPOINT_URL"], _boundary_arn(env))
    wait_for_port("127.0.0.1", port)
    print(
        f"\nPlatform Hub is running on http://127.0.0.1:{port}/  (Ctrl-C stops everything)\n"
        f"Its settings are in {recorded}: manage.py in another terminal uses them.\n",
        flush=True,
    )
    while True:
        for name, process in processes:
            if process.poll() is not None:
                print(f"{name} exited with {process.returncode}; stopping the rest.", flush=True)
                stop()
        time.sleep(1)


def _commands(
    env: dict[str, str], port: int, aws_port: int, *, use_moto: bool
) -> list[tuple[str, list[str]]]:
    """The processes of the hub: the AWS stand-in first (unless AWS is given; `env`
    already points at it), then web, worker and beat."""
    commands: list[tuple[str, list[str]]] = []
    if use_moto:
        commands.append(("aws", awsstandin.command("127.0.0.1", aws_port)))
    manage = [sys.executable, str(ROOT / "manage.py")]
    celery = [str(BIN / "celery"), "-A", "hub"]
    return [
        *commands,
        ("web", [*manage, "runserver", f"127.0.0.1:{port}", "--noreload"]),
        ("worker", [*celery, "worker", "-l", "info", "-c", "2"]),
        ("beat", [*celery, "beat", "-l", "info"]),
    ]


def _stopper(processes: list[tuple[str, subprocess.Popen]]):
    """A signal handler (also called directly) that stops every process, then exits."""

    def stop(*_):
        for _, process in processes:
            if process.poll() is None:
                process.terminate()
        for _, process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        raise SystemExit(0)

    return stop


if __name__ == "__main__":
    sys.exit(main())
