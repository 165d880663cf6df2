"""Two people (here twenty) request the same name at the same moment: exactly one
repository, everyone else gets "already exists". Needs a database that really runs
transactions side by side: PostgreSQL (CI sets DATABASE_URL)."""

import pytest
from django.db import connection

from docker_repos import services
from docker_repos.models import DockerRepo
from hub.choices import Status
from hub.exceptions import Conflict
from hub.models import AuditEvent
from tests.helpers import race

from .support import ecr_repositories

THREADS = 20

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor == "sqlite",
                       reason="SQLite serialises every write, so requests never race; run "
                              "with DATABASE_URL=postgres://... to test concurrency"),
]


def test_concurrent_requests_for_one_name_make_exactly_one_repository(world, ecr, eager):
    people = [world.users["member"], world.users["project_admin"]]
    outcomes = race(lambda index: services.repo_request(
        actor=people[index % 2], project=world.project, service=world.service,
        name="hello-world-app"), THREADS)

    created = [o for o in outcomes if isinstance(o, DockerRepo)]
    refused = [o for o in outcomes if isinstance(o, Conflict)]
    others = [o for o in outcomes if not isinstance(o, DockerRepo | Conflict)]
    assert others == []
    assert len(created) == 1
    assert len(refused) == THREADS - 1
    for conflict in refused:
        assert conflict.message == "A repository named acp/hello-world-app already exists."
        assert conflict.fields == {"name": ["A repository with this name already exists in "
                                            "the project."]}
    [repo] = DockerRepo.objects.filter(project=world.project, name="hello-world-app")
    assert repo.pk == created[0].pk
    assert AuditEvent.objects.filter(action="docker_repo.requested").count() == 1
    # The one request's task ran (eagerly, after its commit): one repository in ECR.
    repo.refresh_from_db()
    assert repo.status == Status.ACTIVE, repo.status_detail
    assert ecr_repositories(ecr) == ["acp/hello-world-app"]
