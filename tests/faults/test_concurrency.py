"""Figure 3: 20 concurrent requests for one repository name make one repository; 20
concurrent changes of one repository's access leave ECR's policy equal to the database.

Twenty threads, each with its own database connection, start together at a barrier. Tasks
run eagerly in the thread whose commit sent them, so the policy syncs, IAM users and keys
of one change run side by side with the other changes. AWS is moto in-process. Needs a
database that runs transactions side by side: PostgreSQL (CI sets DATABASE_URL)."""

import random

import pytest
from django.db import connection

from docker_repos.access import access_set
from docker_repos.models import DockerRepo, RepoAccess, RobotAccount
from hub.choices import Status
from hub.models import AuditEvent
from identities.models import EcrIdentity
from projects.choices import Role
from projects.models import Membership
from tests.access_helpers import active_repo, db_grants, policy_grants
from tests.api.support import client_for
from tests.helpers import race

from .support import NODE_ROLE, ecr_repository_names, status_counts

THREADS = 20
PEOPLE = 8

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor == "sqlite",
        reason="SQLite serialises every write, so requests never race; run "
        "with DATABASE_URL=postgres://... to test concurrency",
    ),
]


def desired_state(index: int) -> tuple[list[dict], list[dict]]:
    """The access list thread `index` asks for: one robot always, and its own mix of the
    people (pull or push), different for every thread."""
    pick = random.Random(index)
    users = [
        {"username": f"person{n}", "writable": pick.random() < 0.4}
        for n in range(PEOPLE)
        if pick.random() < 0.6
    ]
    return [{"name": "ci"}], users


def as_state(users: list[dict]) -> dict[str, bool]:
    return {entry["username"]: entry["writable"] for entry in users}


def test_20_concurrent_access_changes_leave_the_policy_equal_to_the_database(
    world, aws, eager, make_user, settings
):
    """Figure: 20 threads set 20 different access lists on one repository at once -> 20
    applied, 0 errors; the database ends in exactly one of the 20 requested states (the
    last to commit), every entry active (0 pending, 0 removing, 0 failed), and the ECR
    policy grants exactly what the database does (pull and push principals equal)."""
    settings.HUB_ECR_PULL_PRINCIPALS = [NODE_ROLE]
    for n in range(PEOPLE):
        Membership.objects.create(
            project=world.project, user=make_user(f"person{n}"), role=Role.MEMBER
        )
    repo = active_repo(world)
    states = [desired_state(i) for i in range(THREADS)]
    assert len({tuple(sorted(as_state(users).items())) for _, users in states}) == THREADS
    manager = world.users["project_admin"]

    outcomes = race(
        lambda i: access_set(actor=manager, repo=repo, robots=states[i][0], users=states[i][1]),
        THREADS,
    )

    assert [o for o in outcomes if isinstance(o, Exception)] == []  # 20 applied, 0 errors
    final = {
        a.user.username: a.writable
        for a in RepoAccess.objects.filter(repo=repo).select_related("user")
    }
    assert final in [as_state(users) for _, users in states]
    assert status_counts(RepoAccess) == ({Status.ACTIVE: len(final)} if final else {})
    assert status_counts(RobotAccount) == {Status.ACTIVE: 1}
    assert not EcrIdentity.objects.exclude(status=Status.ACTIVE).exists()
    assert policy_grants("acp/web") == db_grants(repo)
    people = EcrIdentity.objects.filter(user__username__in=final)
    assert db_grants(repo) == {
        "pull": {NODE_ROLE} | {i.iam_arn for i in people if not final[i.user.username]},
        "push": {RobotAccount.objects.get().iam_arn}
        | {i.iam_arn for i in people if final[i.user.username]},
    }


def test_20_concurrent_api_requests_for_one_name_make_one_repository(world, aws, ecr, eager):
    """Figure (the existing service-level race, docker_repos/test_concurrency.py, here
    through the REST API): 20 concurrent POSTs of the same name -> 1 answer 201 and 19
    answer 409; 1 row, 1 `requested` audit event, 1 repository in ECR, active."""
    people = [world.users["member"], world.users["project_admin"]]
    clients = [client_for(people[i % 2]) for i in range(THREADS)]
    body = {"service": world.service.pk, "name": "hello-world-app"}

    def post(index: int):
        response = clients[index].post("/api/v1/projects/acp/docker-repos/", body, format="json")
        return response.status_code, response.json()

    outcomes = race(post, THREADS)

    codes = sorted(code for code, _ in outcomes)
    assert codes == [201] + [409] * (THREADS - 1)
    for code, answer in outcomes:
        if code == 409:
            assert answer["error"]["message"] == (
                "A repository named acp/hello-world-app already exists."
            )
    [repo] = DockerRepo.objects.all()
    assert repo.status == Status.ACTIVE, repo.status_detail
    assert AuditEvent.objects.filter(action="docker_repo.requested").count() == 1
    assert ecr_repository_names(ecr) == ["acp/hello-world-app"]
