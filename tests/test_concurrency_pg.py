"""Rules that only concurrency can break, raced for real: threads with connections of their
own, released together, on a database that runs transactions side by side (PostgreSQL;
CI sets DATABASE_URL). Where a rule guards one interleaving, AWS calls (botocore's event
hooks, moto in-process) hold each thread at the point that makes it."""

import threading

import pytest
from celery import signals
from django.db import connection

from docker_repos import services, tasks
from docker_repos.models import DockerRepo
from docker_repos.reconcile import reconcile
from hub.aws import AwsTransientError
from hub.choices import Status
from hub.exceptions import Conflict
from hub.models import AuditEvent
from identities import services as identity_services
from identities.credentials import converge_credentials
from identities.models import EcrIdentity, identity_iam_username
from projects import services as project_services
from projects.choices import Role
from projects.models import Membership
from tests.access_helpers import iam_keys
from tests.docker_repos import conftest as repo_fixtures
from tests.helpers import race

# The repository tests' fixtures, used here too: AWS call hooks and Celery's eager mode.
boto_events, eager = repo_fixtures.boto_events, repo_fixtures.eager

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor == "sqlite",
        reason="SQLite serialises every write, so these never race; run with "
        "DATABASE_URL=postgres://... to test them",
    ),
]

WAIT = 30  # seconds any thread waits for another before the test fails


class PerThread(threading.local):
    index: int | None = None
    calls: int = 0


# --- 8. Two convergers of one credential ----------------------------------------------
#
# One run converges a row at a time (converging_alone); converge_credentials itself must
# still hold when two runs meet, since each trusts its own snapshot of the stored key.
# These runs call it directly, as the services do inside the lock.


@pytest.fixture
def identity(world, aws):
    """A person's identity waiting for its IAM user and first key."""
    user = world.users["member"]
    return EcrIdentity.objects.create(user=user, iam_username=identity_iam_username(user.username))


def _converge(identity_id: int):
    row = EcrIdentity.objects.select_related("user").get(pk=identity_id)
    return converge_credentials(row, tags=identity_services.identity_tags(row))


def test_two_convergers_both_creating_a_key_keep_one_the_row_stores(identity, boto_events):
    """Both list no key, both create one. The first to store wins (compare-and-set on the
    stored key); the loser deletes the key it made, so no key nobody holds is left."""
    me = PerThread()
    both_listed = threading.Barrier(2, timeout=WAIT)
    first_stored = threading.Event()

    def before_create_key(**kwargs):
        both_listed.wait()

    def after_create_key(**kwargs):
        if me.index == 1:
            assert first_stored.wait(WAIT)

    def before_list_keys(**kwargs):
        me.calls += 1
        if me.index == 0 and me.calls == 2:  # its check after storing
            first_stored.set()

    boto_events.register("before-call.iam.CreateAccessKey", before_create_key)
    boto_events.register("after-call.iam.CreateAccessKey", after_create_key)
    boto_events.register("before-call.iam.ListAccessKeys", before_list_keys)

    def work(index):
        me.index = index
        return _converge(identity.pk)

    first, second = race(work, 2)

    assert (first.done, second.done) == (True, False), (first, second)
    row = EcrIdentity.objects.get(pk=identity.pk)
    assert row.access_key_id
    assert iam_keys(row.iam_username) == [row.access_key_id]


def test_a_converger_whose_new_key_was_deleted_meanwhile_does_not_trust_it(identity, boto_events):
    """The first run creates a key; before it stores it, the second lists it as unknown
    and deletes it. The first stores it anyway and must check IAM still has it: it
    raises (its task retries) instead of recording a key that does not exist."""
    me = PerThread()
    first_created, second_created, first_checking = (threading.Event() for _ in range(3))

    def after_create_key(**kwargs):
        if me.index == 0:
            first_created.set()
            assert second_created.wait(WAIT)
        else:
            second_created.set()
            assert first_checking.wait(WAIT)

    def before_list_keys(**kwargs):
        me.calls += 1
        if me.index == 1 and me.calls == 1:
            assert first_created.wait(WAIT)
        if me.index == 0 and me.calls == 2:
            first_checking.set()

    boto_events.register("after-call.iam.CreateAccessKey", after_create_key)
    boto_events.register("before-call.iam.ListAccessKeys", before_list_keys)

    def work(index):
        me.index = index
        return _converge(identity.pk)

    first, second = race(work, 2)

    assert isinstance(first, AwsTransientError) and first.code == "KeyVanished", first
    assert second.done is False
    # The retry ends with the one key IAM has, stored.
    identity_services.ecr_identity_provision(identity.pk)
    row = EcrIdentity.objects.get(pk=identity.pk)
    assert row.status == Status.ACTIVE, row.status_detail
    assert iam_keys(row.iam_username) == [row.access_key_id]


# --- 9. Concurrent deletes; two admins stepping down --------------------------------------


THREADS = 10


def test_concurrent_deletes_of_one_repository_request_it_once(world, aws, eager):
    repo = services.repo_request(
        actor=world.users["member"], project=world.project, service=world.service, name="web"
    )  # provisioned on commit
    repo.refresh_from_db()
    assert repo.status == Status.ACTIVE, repo.status_detail

    returned, lock = [0], threading.Lock()
    others_returned = threading.Event()
    destroys = []

    def count_destroys(sender=None, **kwargs):
        if sender.name == tasks.destroy_repo.name:
            destroys.append(kwargs["task_id"])
            # Hold the deletion (run in the thread whose request committed) until every
            # other request has answered, as a worker would take its time.
            others_returned.wait(10)

    signals.task_prerun.connect(count_destroys, weak=False)

    def work(index):
        people = [world.users["member"], world.users["project_admin"]]
        result = services.repo_delete(actor=people[index % 2], repo=repo)
        with lock:
            returned[0] += 1
            if returned[0] == THREADS - 1:
                others_returned.set()
        return result

    try:
        outcomes = race(work, THREADS)
    finally:
        signals.task_prerun.disconnect(count_destroys)

    assert all(isinstance(o, DockerRepo) and o.status == Status.DELETING for o in outcomes), (
        outcomes
    )
    assert AuditEvent.objects.filter(action="docker_repo.delete_requested").count() == 1
    assert len(destroys) == 1
    assert not DockerRepo.objects.filter(pk=repo.pk).exists()


def _two_admins(world, make_user):
    second = make_user("padmin2")
    Membership.objects.create(project=world.project, user=second, role=Role.ADMIN)
    return [world.users["project_admin"], second]


ROUNDS = 5


@pytest.mark.parametrize("step_down", ["become member", "leave"])
def test_two_admins_stepping_down_at_once_leave_one_admin(world, make_user, step_down):
    admins = _two_admins(world, make_user)

    def work(index):
        me = admins[index]
        if step_down == "leave":
            return project_services.membership_remove(actor=me, project=world.project, user=me)
        return project_services.membership_change_role(
            actor=me, project=world.project, user=me, role=Role.MEMBER
        )

    for _ in range(ROUNDS):
        outcomes = race(work, 2)

        refused = [o for o in outcomes if isinstance(o, Conflict)]
        assert len(refused) == 1, outcomes
        assert "is the last project admin of acp" in refused[0].message
        assert Membership.objects.filter(project=world.project, role=Role.ADMIN).count() == 1
        # Back to two admins for the next round.
        for admin in admins:
            Membership.objects.update_or_create(
                project=world.project, user=admin, defaults={"role": Role.ADMIN}
            )


# --- 10. Two reconciler passes at once ----------------------------------------------------


def test_two_reconciler_passes_at_once_one_runs_the_other_is_skipped(
    world, aws, eager, boto_events
):
    services.repo_request(
        actor=world.users["member"], project=world.project, service=world.service, name="web"
    )  # provisioned on commit
    me = PerThread()
    first_inside, second_done = threading.Event(), threading.Event()

    def hold_the_first_pass(**kwargs):
        # Any AWS call of the first pass: it holds the pass lock now.
        if me.index == 0 and not first_inside.is_set():
            first_inside.set()
            assert second_done.wait(WAIT)

    boto_events.register("before-call", hold_the_first_pass)

    def work(index):
        me.index = index
        if index == 0:
            return reconcile()
        assert first_inside.wait(WAIT)
        try:
            return reconcile()
        finally:
            second_done.set()

    first, second = race(work, 2)

    assert (first.skipped, first.checked) == (False, 1), first
    assert second.skipped, second
    assert second.lines() == ["Another reconciler pass is running; skipped."]
    # The lock went with the first pass: the next one runs.
    assert reconcile().skipped is False
