"""The running hub the browser tests drive: a moto server as AWS (behind a relay the
tests can cut), the web server (gunicorn), a real Celery worker, a database and a
broker of the run's own. `running_hub()` starts it all and stops it all afterwards.

- database: PostgreSQL when DATABASE_URL is set (a fresh database `hub_e2e_<run>` on
  that server, dropped afterwards); otherwise a SQLite file in the run's temp dir.
- broker: Redis when HUB_TEST_REDIS_URL is set, with a queue of the run's own;
  otherwise kombu's file-system broker under the run's temp dir (HUB_VAR_DIR).
"""

import contextlib
import json
import os
import secrets
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import gunicorn
import psycopg2
import redis
from cryptography.fernet import Fernet

from tests.procs import (
    ROOT,
    Proc,
    bin_path,
    free_port,
    start,
    start_aws,
    stop,
    wait_for_port,
    wait_until,
)

from .relay import TcpRelay

# Fast retries so an unreachable AWS ends `Failed` within seconds (the worker's env).
TASK_MAX_RETRIES = 2
TASK_RETRY_BASE = 0.3


@dataclass(frozen=True)
class Person:
    username: str
    password: str


# Who exists in the hub under test (created by SEED below):
#   acp   (repository management left at the default, "members"): alice admin, bob member
#   vault (set to "admins only" by alice in the browser, scenario 5): alice admin, bob member
#   carol is in no project (an outsider)
PEOPLE = {
    "alice": Person("alice", "e2e-alice-" + secrets.token_urlsafe(8)),
    "bob": Person("bob", "e2e-bob-" + secrets.token_urlsafe(8)),
    "carol": Person("carol", "e2e-carol-" + secrets.token_urlsafe(8)),
}

SEED = """
import json, os
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from projects.models import Membership, Project, Service
User = get_user_model()
people = json.loads(os.environ["HUB_E2E_PEOPLE"])
users = {}
for username, password in people.items():
    user = User.objects.create_user(username=username, email=username + "@example.com",
                                    password=password)
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    users[username] = user
acp = Project.objects.create(shortname="acp", name="ACP",
                             description="The guide's project.")
vault = Project.objects.create(shortname="vault", name="Vault",
                               description="Repository management for admins only.")
for project in (acp, vault):
    Membership.objects.create(project=project, user=users["alice"], role="admin")
    Membership.objects.create(project=project, user=users["bob"], role="member")
Service.objects.create(project=acp, name="hello-world-app", description="The guide's example")
Service.objects.create(project=acp, name="billing", description="Invoices and payments")
Service.objects.create(project=vault, name="api", description="The vault's API")
print("seeded", sorted(users))
"""


@dataclass
class Hub:
    url: str
    relay: TcpRelay
    people: dict[str, Person]
    log_dir: Path
    env: dict[str, str]
    database: str
    broker: str
    procs: dict[str, Proc] = field(default_factory=dict)

    def logs(self, tail: int = 3000) -> str:
        """The end of every process's output, for failure reports."""
        return "\n".join(
            f"----- {name} ({proc.log_path}) -----\n{proc.log(tail)}"
            for name, proc in self.procs.items()
        )

    def check_running(self) -> None:
        for name, proc in self.procs.items():
            if not proc.running():
                raise AssertionError(f"{name} exited with {proc.popen.returncode}:\n{proc.log()}")


# --- the database ---------------------------------------------------------------------


@contextlib.contextmanager
def postgres_database(server_url: str, run: str) -> Iterator[str]:
    """A fresh database `hub_e2e_<run>` on the server of `server_url`; dropped afterwards."""

    parts = urlsplit(server_url)
    name = f"hub_e2e_{run}"
    admin_url = urlunsplit(parts._replace(path="/postgres"))

    def run(sql: str) -> None:
        conn = psycopg2.connect(admin_url, connect_timeout=10)
        try:
            conn.autocommit = True
            with conn.cursor() as cursor:
                cursor.execute(sql)
        finally:
            conn.close()

    run(f'DROP DATABASE IF EXISTS "{name}"')
    run(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- the whole hub ----------------------------------------------------------------------


def _manage(env: dict[str, str], *args: str, log_dir: Path, name: str) -> None:
    log = log_dir / f"{name}.log"
    with open(log, "wb") as out:
        result = subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), *args],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=180,
            stdin=subprocess.DEVNULL,
        )
    if result.returncode != 0:
        raise AssertionError(f"manage.py {' '.join(args)} failed:\n{log.read_text()[-4000:]}")


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:  # noqa: S310
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


@contextlib.contextmanager
def running_hub(
    tmp: Path, *, extra_env: Mapping[str, str] | None = None, web_port: int | None = None
) -> Iterator[Hub]:
    """`extra_env`: more settings for the hub's processes (e.g. HUB_OIDC_*); `web_port`:
    the web server's port when the caller must know it beforehand (a redirect URI)."""
    log_dir = tmp / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    var_dir = tmp / "var"
    var_dir.mkdir(exist_ok=True)
    procs: dict[str, Proc] = {}
    relay: TcpRelay | None = None
    # One test run may start more than one hub (tests/e2e/test_oidc.py has its own): each
    # has a database, queue and worker name of its own.
    run = f"{os.getpid()}_{secrets.token_hex(3)}"
    with contextlib.ExitStack() as stack:
        server_url = os.environ.get("DATABASE_URL", "")
        if server_url.startswith(("postgres://", "postgresql://")):
            database_url = stack.enter_context(postgres_database(server_url, run))
        else:
            database_url = f"sqlite:///{var_dir / 'hub.sqlite3'}"
        redis_url = os.environ.get("HUB_TEST_REDIS_URL", "")
        broker_url = redis_url or "filesystem://"

        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("AWS_", "HUB_", "CELERY_", "DJANGO_"))
        }
        env.update(
            {
                "PYTHONPATH": str(ROOT),
                "PYTHONUNBUFFERED": "1",
                "DJANGO_SETTINGS_MODULE": "tests.e2e.hub_settings",
                "HUB_ENV": "development",
                "HUB_DEBUG": "0",
                "HUB_VAR_DIR": str(var_dir),
                "DATABASE_URL": database_url,
                "CELERY_BROKER_URL": broker_url,
                "HUB_E2E_QUEUE": f"hub-e2e-{run}",
                "SECRET_KEY": secrets.token_urlsafe(40),
                "HUB_FERNET_KEYS": _fernet_key(),
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_DEFAULT_REGION": "eu-west-2",
                # An outage ends `Failed` in seconds: few, quick retries; one try per call.
                "HUB_TASK_MAX_RETRIES": str(TASK_MAX_RETRIES),
                "HUB_TASK_RETRY_BASE": str(TASK_RETRY_BASE),
                "HUB_AWS_MAX_ATTEMPTS": "1",
                "HUB_AWS_CONNECT_TIMEOUT": "2",
                "HUB_AWS_READ_TIMEOUT": "15",
                "HUB_E2E_PEOPLE": json.dumps({p.username: p.password for p in PEOPLE.values()}),
            }
        )
        env.update(extra_env or {})

        try:
            moto_port = free_port()
            procs["moto"] = start_aws(moto_port, log_dir=log_dir, env=env)
            relay = TcpRelay(moto_port)
            env["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{relay.port}"

            _manage(env, "migrate", "--noinput", log_dir=log_dir, name="migrate")
            _manage(env, "shell", "-c", SEED, log_dir=log_dir, name="seed")
            wait_for_port(moto_port, proc=procs["moto"])

            web_port = web_port or free_port()
            procs["web"] = start(
                "web",
                [
                    bin_path("gunicorn"),
                    "hub.wsgi:application",
                    "--bind",
                    f"127.0.0.1:{web_port}",
                    "--workers",
                    "1",
                    "--threads",
                    "4",
                    "--timeout",
                    "60",
                    "--access-logfile",
                    "-",
                    "--error-logfile",
                    "-",
                    *_gunicorn_private_socket(tmp),
                ],
                log_dir=log_dir,
                env=env,
            )
            procs["worker"] = start(
                "worker",
                [
                    bin_path("celery"),
                    "-A",
                    "hub",
                    "worker",
                    "--pool=threads",
                    "--concurrency=2",
                    "-Q",
                    env["HUB_E2E_QUEUE"],
                    "-n",
                    f"e2e-{run}@%h",
                    "-l",
                    "info",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                ],
                log_dir=log_dir,
                env=env,
            )

            url = f"http://127.0.0.1:{web_port}"
            wait_until(
                lambda: _healthy(url), timeout=60, proc=procs["web"], what="the hub's /healthz"
            )
            wait_until(
                lambda: " ready." in procs["worker"].log(),
                timeout=60,
                proc=procs["worker"],
                what="the Celery worker to be ready",
            )
            hub = Hub(
                url=url,
                relay=relay,
                people=dict(PEOPLE),
                log_dir=log_dir,
                env=env,
                database=database_url.split("://", 1)[0],
                broker=broker_url.split(":")[0],
                procs=procs,
            )
            yield hub
        finally:
            for name in ("worker", "web", "moto"):
                stop(procs.get(name), timeout=10, group=True)
            if relay is not None:
                relay.close()
            if redis_url:
                _forget_queue(redis_url, env["HUB_E2E_QUEUE"])


def _fernet_key() -> str:
    return Fernet.generate_key().decode()


def _gunicorn_private_socket(tmp: Path) -> list[str]:
    """gunicorn 27 opens a control socket, by default one per machine under ~/.gunicorn:
    give the run its own so two hubs (or a developer's) don't share it."""

    return ["--control-socket", str(tmp / "gunicorn.ctl")] if gunicorn.version_info >= (27,) else []


def _forget_queue(redis_url: str, queue: str) -> None:
    """Remove the run's queue and kombu's bindings for it from the shared Redis."""

    client = redis.Redis.from_url(redis_url, socket_timeout=5)
    try:
        keys = [queue, *client.scan_iter(match=f"_kombu.binding*.{queue}")]
        client.delete(*keys)
    finally:
        client.close()
