"""Figure 2: a worker killed (SIGKILL) in the middle of provisioning, and the broker down
when the request commits: the repository still ends `active`, once, in ECR.

The crash tests run real processes: a moto server behind a relay in this process (which
holds the hub's SetRepositoryPolicy call, so the kill lands after ECR created the
repository and before its policy is written) and Celery workers on Redis, sharing this
test's PostgreSQL database. They skip without HUB_TEST_REDIS_URL and PostgreSQL (CI sets
both). The broker-down test with eager tasks runs on any database.

Which path recovers what:
- only the worker's pool process is killed (prefork): its parent sees the loss and, with
  acks_late + reject_on_worker_lost, puts the message back; the same worker runs it again.
- the whole worker is killed (its process group: the node died): its message stays unacked
  in Redis until the visibility timeout (an hour), so the reconciler is what re-sends it
  (after HUB_RECONCILE_STUCK_AFTER; 0 here), to the worker started in its place.
- the broker is down when the request commits: the request succeeds anyway, the row stays
  `pending` with no message anywhere, and the reconciler sends it once the broker is back.
"""

import logging
import os
import signal
import time

import boto3
import pytest
from django.db import connection
from django.urls import reverse

from docker_repos import services
from docker_repos.models import DockerRepo
from docker_repos.reconcile import reconcile
from hub.aws import reset_clients
from hub.celery import app
from hub.choices import Status
from tests.access_helpers import converging
from tests.api.support import client_for
from tests.procs import free_port, start_aws, stop, wait_until

from .support import (
    CLOSED_REDIS,
    DUMMY_CREDENTIALS,
    NODE_ROLE,
    REGION,
    GateRelay,
    audit_counts,
    children_of,
    ecr_repository_names,
    forget_queue,
    new_queue_name,
    point_broker_at,
    reset_broker_connections,
    start_worker,
)

REDIS_URL = os.environ.get("HUB_TEST_REDIS_URL", "")

REAL_PROCESSES = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),  # committed rows: the workers must see them
    pytest.mark.skipif(
        not REDIS_URL,
        reason="set HUB_TEST_REDIS_URL=redis://... to run the real-worker crash tests",
    ),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="the worker processes need a database server they can share "
        "(DATABASE_URL=postgres://...)",
    ),
]


def real_processes(test):
    for mark in REAL_PROCESSES:
        test = mark(test)
    return test


@pytest.fixture
def moto(tmp_path, monkeypatch, settings):
    """A moto server, with this process's hub (the reconciler) pointed straight at it and
    a relay in front of it for the workers. Yields (relay, ecr client of the test's own)."""
    port = free_port()
    proc = start_aws(port, log_dir=tmp_path, name="moto_server")
    relay = None
    try:
        relay = GateRelay(port)
        endpoint = f"http://127.0.0.1:{port}"
        for key, value in DUMMY_CREDENTIALS.items():
            monkeypatch.setenv(key, value)
        monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
        settings.AWS_ENDPOINT_URL = endpoint
        settings.AWS_DEFAULT_REGION = REGION
        settings.HUB_ECR_PULL_PRINCIPALS = [NODE_ROLE]
        reset_clients()
        ecr = boto3.session.Session(**{k.lower(): v for k, v in DUMMY_CREDENTIALS.items()}).client(
            "ecr", region_name=REGION, endpoint_url=endpoint
        )
        yield relay, ecr
    finally:
        if relay is not None:
            relay.close()
        stop(proc)
        reset_clients()


@pytest.fixture
def queue(monkeypatch):
    """This test's own queue on the shared Redis: this process routes the hub's tasks
    there and the workers consume only it."""

    name = new_queue_name()
    saved = {
        key: app.conf[key] for key in ("broker_url", "broker_transport_options", "task_routes")
    }
    monkeypatch.setenv("CELERY_BROKER_URL", REDIS_URL)
    app.conf.update(
        broker_url=REDIS_URL,
        broker_transport_options={},
        task_routes={
            "docker_repos.tasks.*": {"queue": name},
            "identities.tasks.*": {"queue": name},
        },
    )
    reset_broker_connections(app)
    try:
        yield name
    finally:
        app.conf.update(saved)
        reset_broker_connections(app)
        forget_queue(REDIS_URL, name)


@pytest.fixture
def workers(tmp_path):
    """`workers.start(name, ...)` starts a worker (see support.start_worker); every one
    still running is stopped, with its process group, after the test."""
    started = []

    class Workers:
        def start(self, name, **kwargs):
            proc = start_worker(name, log_dir=tmp_path, redis_url=REDIS_URL, **kwargs)
            started.append(proc)
            return proc

    yield Workers()
    for proc in started:
        stop(proc, group=True)


def settled(repo_id: int):
    row = DockerRepo.objects.filter(pk=repo_id).first()
    return row if row is not None and row.status in (Status.ACTIVE, Status.FAILED) else None


def received(proc) -> int:
    return proc.log().count("] received")


def request_web(world) -> DockerRepo:
    return services.repo_request(
        actor=world.users["member"], project=world.project, service=world.service, name="web"
    )


def assert_one_repository_with_its_policy(ecr) -> None:
    assert ecr_repository_names(ecr) == ["acp/web"]
    policy = ecr.get_repository_policy(repositoryName="acp/web")["policyText"]
    assert NODE_ROLE in policy


@real_processes
def test_pool_process_killed_the_message_is_redelivered(world, moto, queue, workers):
    """Figure: the pool process running provision_repo is SIGKILLed after ECR created
    the repository, before its policy was written -> the worker puts the message back
    (acks_late + reject_on_worker_lost), runs it again (2 deliveries, 0 reconciler
    passes) -> active; 1 repository in ECR, with its policy."""
    relay, ecr = moto
    worker = workers.start(
        "worker", queue=queue, pool="prefork", aws_endpoint=f"http://127.0.0.1:{relay.port}"
    )
    relay.stop_at(b"SetRepositoryPolicy")

    repo = request_web(world)

    assert relay.held.wait(timeout=30), worker.log()
    # Half-way: the repository exists in ECR, its policy does not, the row is pending.
    assert DockerRepo.objects.get(pk=repo.pk).status == Status.PENDING
    assert ecr_repository_names(ecr) == ["acp/web"]
    with pytest.raises(ecr.exceptions.RepositoryPolicyNotFoundException):
        ecr.get_repository_policy(repositoryName="acp/web")
    [pool_process] = wait_until(
        lambda: children_of(worker.pid), timeout=10, proc=worker, what="the worker's pool process"
    )
    os.kill(pool_process, signal.SIGKILL)
    relay.drop_held()  # the dead process's call never reaches AWS

    repo = wait_until(
        lambda: settled(repo.pk),
        timeout=60,
        proc=worker,
        what="the repository to settle after the kill",
    )
    assert (repo.status, repo.status_detail) == (Status.ACTIVE, ""), worker.log()
    assert "WorkerLostError" in worker.log()
    assert received(worker) == 2  # the first delivery, and the one put back
    assert relay.held_count == 1
    assert_one_repository_with_its_policy(ecr)
    assert audit_counts("docker_repo.active") == {"docker_repo.active": 1}


@real_processes
def test_whole_worker_killed_the_reconciler_resends_to_a_new_worker(
    world, moto, queue, workers, settings
):
    """Figure: the whole worker (process group) is SIGKILLed mid-provisioning -> its
    message stays unacked in Redis, a new worker receives nothing (0 deliveries) -> 1
    reconciler pass re-sends it (requeued: 1) -> the new worker adopts the repository
    the dead one created -> active; 1 repository in ECR, with its policy."""
    relay, ecr = moto
    first = workers.start("worker-1", queue=queue, aws_endpoint=f"http://127.0.0.1:{relay.port}")
    relay.stop_at(b"SetRepositoryPolicy")

    repo = request_web(world)

    assert relay.held.wait(timeout=30), first.log()
    assert ecr_repository_names(ecr) == ["acp/web"]
    os.killpg(first.pid, signal.SIGKILL)
    first.popen.wait(timeout=10)
    relay.drop_held()
    assert DockerRepo.objects.get(pk=repo.pk).status == Status.PENDING

    second = workers.start("worker-2", queue=queue, aws_endpoint=f"http://127.0.0.1:{relay.port}")
    # Redis hands an unacked message out again only after its visibility timeout.
    time.sleep(2)
    assert received(second) == 0
    assert DockerRepo.objects.get(pk=repo.pk).status == Status.PENDING

    settings.HUB_RECONCILE_STUCK_AFTER = 0
    report = reconcile()
    assert report.requeued == ["acp/web"]

    repo = wait_until(
        lambda: settled(repo.pk),
        timeout=60,
        proc=second,
        what="the repository to settle after the reconciler",
    )
    assert (repo.status, repo.status_detail) == (Status.ACTIVE, ""), second.log()
    assert received(second) == 1
    assert_one_repository_with_its_policy(ecr)
    assert audit_counts("docker_repo.active") == {"docker_repo.active": 1}


@real_processes
def test_broker_down_at_enqueue_time_with_a_real_worker(
    world, moto, queue, workers, client, monkeypatch, settings, caplog
):
    """Figure: the broker is down while a repository is requested on its page -> the page
    answers 302 (done), the row stays pending, 0 messages reach the worker; with the broker
    back, 1 reconciler pass re-sends it (requeued: 1) -> active; 1 repository in ECR."""

    relay, ecr = moto
    worker = workers.start("worker", queue=queue, aws_endpoint=f"http://127.0.0.1:{relay.port}")
    point_broker_at(app, CLOSED_REDIS.format(port=free_port()), monkeypatch)
    client.force_login(world.users["member"])

    with caplog.at_level(logging.WARNING):
        response = client.post(
            reverse("docker_repos:request", args=["acp"]),
            {
                "service": world.service.pk,
                "name": "web",
                "tag_mutability": "MUTABLE",
                "scan_on_push": "on",
            },
        )

    assert response.status_code == 302
    assert response["Location"] == reverse("docker_repos:project-repos", args=["acp"])
    assert "Could not enqueue docker_repos.tasks.provision_repo" in caplog.text
    repo = DockerRepo.objects.get()
    assert repo.status == Status.PENDING

    point_broker_at(app, REDIS_URL, monkeypatch)  # the broker is back
    time.sleep(1)
    assert received(worker) == 0  # nothing was queued while it was down
    settings.HUB_RECONCILE_STUCK_AFTER = 0
    report = reconcile()
    assert report.requeued == ["acp/web"]

    repo = wait_until(
        lambda: settled(repo.pk), timeout=60, proc=worker, what="the repository to settle"
    )
    assert (repo.status, repo.status_detail) == (Status.ACTIVE, ""), worker.log()
    assert received(worker) == 1
    assert_one_repository_with_its_policy(ecr)


def test_broker_down_at_enqueue_time_requests_succeed_and_the_reconciler_sends_them(
    world, aws, ecr, client, monkeypatch, settings, caplog, django_capture_on_commit_callbacks
):
    """Figure (any database, eager tasks): the broker is down while 2 repositories are
    requested, one on its page and one through the API -> 302 and 201, 2 rows pending,
    2 failed sends logged; with the broker back, 1 reconciler pass re-sends both
    (requeued: 2) -> 2 active, 2 repositories in ECR."""

    saved = app.conf.broker_url
    client.force_login(world.users["member"])
    with monkeypatch.context() as broker_env:
        point_broker_at(app, CLOSED_REDIS.format(port=free_port()), broker_env)
        try:
            with (
                caplog.at_level(logging.WARNING),
                django_capture_on_commit_callbacks(execute=True) as sends,
            ):
                page = client.post(
                    reverse("docker_repos:request", args=["acp"]),
                    {
                        "service": world.service.pk,
                        "name": "web",
                        "tag_mutability": "MUTABLE",
                        "scan_on_push": "on",
                    },
                )
                api = client_for(world.users["member"]).post(
                    "/api/v1/projects/acp/docker-repos/",
                    {"service": world.service.pk, "name": "api"},
                    format="json",
                )
        finally:
            point_broker_at(app, saved)  # the broker is back

    assert page.status_code == 302
    assert (api.status_code, api.json()["status"]) == (201, "pending")
    assert len(sends) == 2  # each request tried to send its task once it committed
    assert caplog.text.count("Could not enqueue docker_repos.tasks.provision_repo") == 2
    assert dict(DockerRepo.objects.values_list("name", "status")) == {
        "web": Status.PENDING,
        "api": Status.PENDING,
    }

    settings.HUB_RECONCILE_STUCK_AFTER = 0
    with converging(django_capture_on_commit_callbacks):
        report = reconcile()

    assert sorted(report.requeued) == ["acp/api", "acp/web"]
    assert dict(DockerRepo.objects.values_list("name", "status")) == {
        "web": Status.ACTIVE,
        "api": Status.ACTIVE,
    }
    assert sorted(ecr_repository_names(ecr)) == ["acp/api", "acp/web"]
