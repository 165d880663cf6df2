"""List endpoints make the same number of queries for 1 row as for 30 (no N+1)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from projects.choices import Role
from projects.models import Membership, Project, Service

from .support import API, client_for, make_repo
from .test_access import grant_rows


def queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return len(captured)


def add_projects(world, numbers) -> None:
    for number in numbers:
        project = Project.objects.create(shortname=f"p{number:02d}", name=f"P{number}")
        Membership.objects.create(project=project, user=world.users["member"], role=Role.MEMBER)


def add_members(world, make_user, numbers) -> None:
    for number in numbers:
        Membership.objects.create(project=world.project, user=make_user(f"person{number:02d}"))


def add_services(world, numbers) -> None:
    for number in numbers:
        Service.objects.create(project=world.project, name=f"service-{number:02d}")


def add_repos(world, numbers) -> None:
    for number in numbers:
        service = Service.objects.create(project=world.project, name=f"svc-{number:02d}")
        make_repo(world, service=service, name=f"repo-{number:02d}")


CASES = {
    "projects (member)": ("member", f"{API}projects/", lambda w, mu, n: add_projects(w, n)),
    "projects (hub admin)": ("hub_admin", f"{API}projects/", lambda w, mu, n: add_projects(w, n)),
    "members": ("member", f"{API}projects/acp/members/", lambda w, mu, n: add_members(w, mu, n)),
    "services": ("member", f"{API}projects/acp/services/", lambda w, mu, n: add_services(w, n)),
    "docker-repos": (
        "member",
        f"{API}projects/acp/docker-repos/",
        lambda w, mu, n: add_repos(w, n),
    ),
    # Filtering (django-filter) costs no query of its own.
    "docker-repos (filtered)": (
        "member",
        f"{API}projects/acp/docker-repos/?status=active&q=repo&name=r",
        lambda w, mu, n: add_repos(w, n),
    ),
    "projects (filtered)": (
        "member",
        f"{API}projects/?q=p&name=p",
        lambda w, mu, n: add_projects(w, n),
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_list_query_count_does_not_grow(world, make_user, case):
    role, url, add = CASES[case]
    client = client_for(world.users[role])
    add(world, make_user, range(1))
    small = queries(client, url)
    add(world, make_user, range(1, 30))
    assert client.get(url).json()["count"] >= 30
    large = queries(client, url)
    assert large == small, f"{case}: {small} queries for a few rows, {large} for 30 more"


def test_access_query_count_does_not_grow(world, make_user):
    repo = make_repo(world)
    client = client_for(world.users["member"])
    url = f"{API}docker-repos/{repo.pk}/access/"
    grant_rows(world, repo, make_user, range(1))
    small = queries(client, url)
    grant_rows(world, repo, make_user, range(1, 30))
    large = queries(client, url)
    assert large == small
