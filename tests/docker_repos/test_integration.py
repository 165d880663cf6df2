"""End to end without a browser: the web side enqueues on commit to Redis, a real Celery
worker (a subprocess) runs the task against a real moto server, and the repository appears
in and disappears from that server.

Needs PostgreSQL (the worker reads the rows this test commits, in pytest-django's test
database) and Redis: CI sets DATABASE_URL=postgres://... and HUB_TEST_REDIS_URL.
"""

import json
import os
import secrets

import boto3
import pytest
from django.db import connection
from kombu import pools

from docker_repos import services
from docker_repos.models import DockerRepo
from hub.celery import app
from hub.choices import Status
from tests.procs import bin_path, free_port, start, start_aws, stop, wait_until

REDIS_URL = os.environ.get("HUB_TEST_REDIS_URL", "")
REGION = "eu-west-2"
NODE_ROLE = "arn:aws:iam::123456789012:role/node"
DUMMY_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}

pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),  # committed rows: the worker must see them
    pytest.mark.skipif(
        not REDIS_URL, reason="set HUB_TEST_REDIS_URL=redis://... to run the real-worker test"
    ),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="the worker process needs a database server it can share "
        "(DATABASE_URL=postgres://...)",
    ),
]


@pytest.fixture
def moto_server(tmp_path):
    port = free_port()
    proc = start_aws(port, log_dir=tmp_path, name="moto_server")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(proc)


def _reset_broker_connections(app) -> None:
    """Drop the Celery app's cached broker connections so the next send uses the current
    broker_url (Celery caches them per app). kombu's process-wide pools are reset too: the
    app's pool is one of them, and left closed there it fails every later send to the same
    URL ("Acquire on closed pool"), eager ones included."""
    if app._pool is not None:
        app._pool.force_close_all()
    app._pool = None
    app.amqp._producer_pool = None
    pools.reset()


@pytest.fixture
def queue():
    """This test's own Celery queue on the shared Redis: the web side routes the hub's
    tasks there and the worker consumes only it, so no other worker takes them."""

    name = f"hub-integration-{os.getpid()}-{secrets.token_hex(4)}"
    saved = {
        key: app.conf[key] for key in ("broker_url", "broker_transport_options", "task_routes")
    }
    app.conf.update(
        broker_url=REDIS_URL,
        broker_transport_options={},
        task_routes={"docker_repos.tasks.*": {"queue": name}},
    )
    _reset_broker_connections(app)
    try:
        yield name
    finally:
        app.conf.update(saved)
        _reset_broker_connections(app)


def worker_database_url() -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def worker(transactional_db, moto_server, queue, tmp_path):
    env = (
        dict(os.environ)
        | DUMMY_CREDENTIALS
        | {
            "DJANGO_SETTINGS_MODULE": "hub.settings",
            "DATABASE_URL": worker_database_url(),
            "HUB_DB_CONN_MAX_AGE": "0",
            "CELERY_BROKER_URL": REDIS_URL,
            "AWS_ENDPOINT_URL": moto_server,
            "AWS_DEFAULT_REGION": REGION,
            "HUB_ECR_PULL_PRINCIPALS": NODE_ROLE,
            "HUB_VAR_DIR": str(tmp_path / "var"),
            "HUB_TASK_RETRY_BASE": "0.2",
        }
    )
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "HUB_TEST_REDIS_URL"):
        env.pop(name, None)
    proc = start(
        "celery_worker",
        [
            bin_path("celery"),
            "-A",
            "hub",
            "worker",
            "--pool=solo",
            "-Q",
            queue,
            "-n",
            f"{queue}@%h",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        env=env,
        log_dir=tmp_path,
    )
    try:
        wait_until(
            lambda: " ready." in proc.log(),
            timeout=60,
            proc=proc,
            what="the Celery worker to be ready",
        )
        yield proc
    finally:
        stop(proc)


def moto_ecr(endpoint: str):
    return boto3.session.Session(**{k.lower(): v for k, v in DUMMY_CREDENTIALS.items()}).client(
        "ecr", region_name=REGION, endpoint_url=endpoint
    )


def test_a_real_worker_creates_and_deletes_the_repository(world, worker, moto_server):
    ecr = moto_ecr(moto_server)
    member = world.users["member"]

    repo = services.repo_request(
        actor=member,
        project=world.project,
        service=world.service,
        name="hello-world-app",
        keep_last_images=7,
    )

    def settled(repo_id: int):
        row = DockerRepo.objects.filter(pk=repo_id).first()
        return row if row is not None and row.status in (Status.ACTIVE, Status.FAILED) else None

    repo = wait_until(
        lambda: settled(repo.pk), timeout=30, proc=worker, what="the repository to become active"
    )
    assert repo.status == Status.ACTIVE, f"{repo.status_detail}\n{worker.log()}"
    assert repo.uri == f"123456789012.dkr.ecr.{REGION}.amazonaws.com/acp/hello-world-app"
    [found] = ecr.describe_repositories(repositoryNames=["acp/hello-world-app"])["repositories"]
    assert found["repositoryArn"] == repo.arn
    tags = {t["Key"]: t["Value"] for t in ecr.list_tags_for_resource(resourceArn=repo.arn)["tags"]}
    assert tags["hub-repo-id"] == str(repo.pk)
    policy = json.loads(
        ecr.get_repository_policy(repositoryName="acp/hello-world-app")["policyText"]
    )
    assert policy["Statement"][0]["Principal"]["AWS"] in (NODE_ROLE, [NODE_ROLE])
    lifecycle = json.loads(
        ecr.get_lifecycle_policy(repositoryName="acp/hello-world-app")["lifecyclePolicyText"]
    )
    assert lifecycle["rules"][0]["selection"]["countNumber"] == 7

    services.repo_delete(actor=member, repo=repo)

    wait_until(
        lambda: not DockerRepo.objects.filter(pk=repo.pk).exists(),
        timeout=30,
        proc=worker,
        what="the repository to be deleted",
    )
    assert ecr.describe_repositories()["repositories"] == []
