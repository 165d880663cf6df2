"""Two people (here twenty) request the same name at the same moment: exactly one
repository, everyone else gets "already exists"; two tasks converge the same robot or
identity at once: one key, the one IAM has. Needs a database that really runs
transactions side by side: PostgreSQL (CI sets DATABASE_URL)."""

import threading

import pytest
from django.db import connection

from docker_repos import services
from docker_repos.models import DockerRepo, RobotAccount, robot_iam_username
from docker_repos.robots import robot_provision
from hub.aws import AwsTransientError
from hub.choices import Status
from hub.exceptions import Conflict
from hub.models import AuditEvent
from identities import services as identity_services
from identities.models import EcrIdentity, identity_iam_username
from tests.access_helpers import iam_keys
from tests.helpers import race

from .support import ecr_repositories

THREADS = 20

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor == "sqlite",
        reason="SQLite serialises every write, so requests never race; run "
        "with DATABASE_URL=postgres://... to test concurrency",
    ),
]


def test_concurrent_requests_for_one_name_make_exactly_one_repository(world, ecr, eager):
    people = [world.users["member"], world.users["project_admin"]]
    outcomes = race(
        lambda index: services.repo_request(
            actor=people[index % 2],
            project=world.project,
            service=world.service,
            name="hello-world-app",
        ),
        THREADS,
    )

    created = [o for o in outcomes if isinstance(o, DockerRepo)]
    refused = [o for o in outcomes if isinstance(o, Conflict)]
    others = [o for o in outcomes if not isinstance(o, DockerRepo | Conflict)]
    assert others == []
    assert len(created) == 1
    assert len(refused) == THREADS - 1
    for conflict in refused:
        assert conflict.message == "A repository named acp/hello-world-app already exists."
        assert conflict.fields == {
            "name": ["A repository with this name already exists in the project."]
        }
    [repo] = DockerRepo.objects.filter(project=world.project, name="hello-world-app")
    assert repo.pk == created[0].pk
    assert AuditEvent.objects.filter(action="docker_repo.requested").count() == 1
    # The one request's task ran (eagerly, after its commit): one repository in ECR.
    repo.refresh_from_db()
    assert repo.status == Status.ACTIVE, repo.status_detail
    assert ecr_repositories(ecr) == ["acp/hello-world-app"]


# --- One converger at a time per credentials row ---------------------------------------


@pytest.fixture
def second_converger_waits_for_the_first(boto_events):
    """Arrange the interleaving that loses a key without the lock: both runs read the row,
    then one runs to the end while the other waits at its first AWS call (CreateUser) and
    goes on afterwards with its stale snapshot of the stored key. With the lock only one
    run gets that far: the barrier times out and it simply goes on."""
    arrived = threading.Barrier(2, timeout=1.5)
    first_done = threading.Event()
    role = threading.local()

    def before_create_user(**kwargs):
        if getattr(role, "seen", False):
            return None
        role.seen = True
        try:
            index = arrived.wait()
        except threading.BrokenBarrierError:
            return None  # alone: the other run was turned away by the lock
        role.first = index == 0
        if not role.first:
            first_done.wait(timeout=30)
        return None

    boto_events.register("before-call.iam.CreateUser", before_create_user)

    def run(work):
        role.seen, role.first = False, False
        try:
            return work()
        finally:
            if role.first:
                first_done.set()

    return run


def _robot(world, *, rotating: bool) -> RobotAccount:
    repo = services.repo_request(
        actor=world.users["member"], project=world.project, service=world.service, name="web"
    )
    services.repo_provision(repo.pk)
    robot = RobotAccount.objects.create(
        repo=repo, name="ci", iam_username=robot_iam_username("acp", "web", "ci")
    )
    if rotating:
        robot_provision(robot.pk)  # eager: the sync names it, it becomes active
        RobotAccount.objects.filter(pk=robot.pk).update(
            status=Status.PENDING, rotation_requested=True
        )
    return robot


def _identity(world, *, rotating: bool) -> EcrIdentity:
    user = world.users["member"]
    identity = EcrIdentity.objects.create(
        user=user, iam_username=identity_iam_username(user.username)
    )
    if rotating:
        identity_services.ecr_identity_provision(identity.pk)
        EcrIdentity.objects.filter(pk=identity.pk).update(
            status=Status.PENDING, rotation_requested=True
        )
    return identity


@pytest.mark.parametrize("rotating", [False, True], ids=["create", "rotate"])
@pytest.mark.parametrize("kind", ["robot", "identity"])
def test_two_convergers_of_one_row_end_with_the_one_key_iam_has(
    world, aws, eager, second_converger_waits_for_the_first, kind, rotating
):
    """Figure: two runs converge the same robot (or person's identity) at once, a first
    creation or a rotation -> exactly 1 access key in IAM, the one the row stores, and the
    row active; the run turned away says so with a transient error (its task retries)."""
    make, converge = {
        "robot": (_robot, robot_provision),
        "identity": (_identity, identity_services.ecr_identity_provision),
    }[kind]
    row = make(world, rotating=rotating)
    before = type(row).objects.get(pk=row.pk).access_key_id

    outcomes = race(lambda index: second_converger_waits_for_the_first(lambda: converge(row.pk)), 2)

    assert all(
        o is None or (isinstance(o, AwsTransientError) and o.code == "ConvergenceBusy")
        for o in outcomes
    ), outcomes
    after = type(row).objects.get(pk=row.pk)
    assert after.status == Status.ACTIVE, after.status_detail
    assert iam_keys(after.iam_username) == [after.access_key_id]
    assert after.access_key_id != before
