"""Helpers of the fault tests: counting what is in ECR and in the database, and the real
processes (moto server, a relay in front of it, Celery workers) of the crash tests."""

import json
import os
import secrets
import threading
from collections import Counter
from pathlib import Path

import redis
from django.db import connection
from django.db.models import Count
from kombu import pools as kombu_pools

from docker_repos.models import DockerRepo
from hub.models import AuditEvent
from tests.e2e.relay import TcpRelay
from tests.procs import Proc, bin_path, start, wait_until

REGION = "eu-west-2"
NODE_ROLE = "arn:aws:iam::123456789012:role/node"
DUMMY_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
CLOSED_REDIS = "redis://127.0.0.1:{port}/0"


# --- Counting -----------------------------------------------------------------------------


def ecr_repository_names(ecr) -> list[str]:
    """Every repository name ECR lists, page by page, duplicates kept (so a duplicate would
    show up as a name counted twice)."""
    names = []
    for page in ecr.get_paginator("describe_repositories").paginate(
        PaginationConfig={"PageSize": 20}
    ):
        names += [r["repositoryName"] for r in page["repositories"]]
    return names


def ecr_repo_ids(ecr) -> dict[str, str]:
    """{repository name: its hub-repo-id tag}."""
    found = {}
    for page in ecr.get_paginator("describe_repositories").paginate():
        for repo in page["repositories"]:
            tags = ecr.list_tags_for_resource(resourceArn=repo["repositoryArn"])["tags"]
            found[repo["repositoryName"]] = {t["Key"]: t["Value"] for t in tags}.get("hub-repo-id")
    return found


def status_counts(model=DockerRepo) -> dict[str, int]:
    return dict(model.objects.values_list("status").annotate(n=Count("pk")).order_by())


def audit_counts(*actions: str) -> dict[str, int]:
    counted = Counter(
        AuditEvent.objects.filter(action__in=actions).values_list("action", flat=True)
    )
    return {action: counted.get(action, 0) for action in actions}


# --- Real processes -----------------------------------------------------------------------


class GateRelay(TcpRelay):
    """The e2e tests' TCP relay in front of the moto server, which can also stop one kind
    of AWS call half-way: once `stop_at(marker)` is set, the first request whose bytes
    contain `marker` (e.g. b"SetRepositoryPolicy", from its X-Amz-Target header) is held,
    not forwarded, and `held` is set. `drop_held()` then discards it (its sender is dead:
    the request never reaches AWS) and lets everything through again."""

    def __init__(self, target_port: int):
        self.marker: bytes | None = None
        self.held = threading.Event()
        self.held_count = 0
        self._gate = threading.Event()
        self._gate.set()
        self._drop = False
        super().__init__(target_port)

    def stop_at(self, marker: bytes) -> None:
        self._drop = False
        self.held.clear()
        self.marker = marker
        self._gate.clear()

    def drop_held(self) -> None:
        self.marker = None
        self._drop = True
        self._gate.set()

    def _pump(self, source, sink, to_aws: bool) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if to_aws and self.marker is not None and self.marker in data:
                    self.held_count += 1
                    self.held.set()
                    self._gate.wait(timeout=60)
                    if self._drop:
                        break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with self._lock:
                self._connections.discard(source)
                self._connections.discard(sink)
            for sock in (source, sink):
                try:
                    sock.close()
                except OSError:
                    pass


def reset_broker_connections(app) -> None:
    """Drop the Celery app's cached broker connections so the next send uses the current
    broker_url: Celery caches them per app, and kombu's producer pools (per broker URL, for
    the whole process) still hold the app's closed pool otherwise ("Acquire on closed
    pool" on the next send to the same URL)."""
    if app._pool is not None:
        app._pool.force_close_all()
    app._pool = None
    app.amqp._producer_pool = None
    kombu_pools.reset()


def point_broker_at(app, url: str, monkeypatch=None) -> None:
    """Make the web side (this process) send tasks to `url`. Celery reads the environment's
    CELERY_BROKER_URL before its configuration (CI sets it), so both are set."""
    if monkeypatch is not None:
        monkeypatch.setenv("CELERY_BROKER_URL", url)
    app.conf.broker_url = url
    reset_broker_connections(app)


def forget_queue(redis_url: str, name: str) -> None:
    """Remove what a test's queue left in Redis: its bindings, its messages, and the
    unacked messages of a killed worker (which Redis would otherwise hand out again to
    nobody, an hour later)."""

    server = redis.Redis.from_url(redis_url)
    server.delete(name, f"_kombu.binding.{name}", f"_kombu.binding_permanent.{name}")
    for tag, entry in server.hgetall("unacked").items():
        try:
            routing_key = json.loads(entry)[2]
        except (ValueError, IndexError, TypeError):
            continue
        if routing_key == name:
            server.hdel("unacked", tag)
            server.zrem("unacked_index", tag)
    server.close()


def new_queue_name() -> str:
    return f"hub-faults-{os.getpid()}-{secrets.token_hex(4)}"


def worker_database_url() -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def start_worker(
    name: str, *, queue: str, redis_url: str, aws_endpoint: str, log_dir: Path, pool: str = "solo"
) -> Proc:
    """A Celery worker of the hub, in its own process group, consuming only `queue`, on
    this test's PostgreSQL database, with AWS at `aws_endpoint`."""
    env = (
        dict(os.environ)
        | DUMMY_CREDENTIALS
        | {
            "DJANGO_SETTINGS_MODULE": "hub.settings",
            "DATABASE_URL": worker_database_url(),
            "HUB_DB_CONN_MAX_AGE": "0",
            "CELERY_BROKER_URL": redis_url,
            "AWS_ENDPOINT_URL": aws_endpoint,
            "AWS_DEFAULT_REGION": REGION,
            "HUB_ECR_PULL_PRINCIPALS": NODE_ROLE,
            "HUB_VAR_DIR": str(log_dir / "var"),
            "HUB_TASK_RETRY_BASE": "0.2",
            "HUB_AWS_READ_TIMEOUT": "60",  # a held AWS call waits for the kill, not a timeout
        }
    )
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "HUB_TEST_REDIS_URL"):
        env.pop(key, None)
    pool_args = ["--pool=solo"] if pool == "solo" else ["--pool=prefork", "--concurrency=1"]
    proc = start(
        name,
        [
            bin_path("celery"),
            "-A",
            "hub",
            "worker",
            *pool_args,
            "-Q",
            queue,
            "-n",
            f"{name}-{queue}@%h",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        env=env,
        log_dir=log_dir,
    )
    wait_until(
        lambda: " ready." in proc.log(),
        timeout=60,
        proc=proc,
        what=f"the Celery worker {name} to be ready",
    )
    return proc


def children_of(pid: int) -> list[int]:
    """The ids of a process's direct children (Linux /proc)."""
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except FileNotFoundError:
        return []
    return [int(child) for child in text.split()]
