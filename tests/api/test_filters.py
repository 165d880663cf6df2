"""The list filters (django-filter FilterSets, <app>/filters.py): each one narrows the list,
they combine, and a value a filter cannot take is a 400 in the API's error shape naming the
filter in `fields`. The ALL DOCKER REPOS page's search is the same FilterSet
(tests/docker_repos/test_pages.py)."""

import pytest

from hub.choices import Status
from projects.choices import Role
from projects.models import Membership, Project, Service

from .support import API, client_for, make_repo

REPOS = f"{API}projects/acp/docker-repos/"


@pytest.fixture
def repos(world):
    """Four repositories of two services in different states."""
    api = Service.objects.create(project=world.project, name="api")
    make_repo(world, name="web-frontend", description="The shop's pages")
    make_repo(world, name="web-worker", status=Status.FAILED, description="Background jobs")
    make_repo(
        world,
        service=api,
        name="Billing",
        status=Status.PENDING,
        description="Invoices for the WEB shop",
    )
    make_repo(world, service=api, name="ledger", status=Status.DELETING)
    return client_for(world.users["member"])


def names(client, query: str) -> list[str]:
    response = client.get(REPOS + query)
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["count"] == len(body["results"])
    return [row["name"] for row in body["results"]]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["Billing", "ledger", "web-frontend", "web-worker"]),
        ("?status=failed", ["web-worker"]),
        ("?status=deleting", ["ledger"]),
        ("?status=", ["Billing", "ledger", "web-frontend", "web-worker"]),  # empty: no filter
        ("?service=api", ["Billing", "ledger"]),
        ("?service=hello-world-app", ["web-frontend", "web-worker"]),
        ("?service=ap", []),  # a service's whole name, not a part of it
        ("?name=WEB", ["web-frontend", "web-worker"]),  # contains, in any case
        ("?name=bill", ["Billing"]),
        ("?q=web", ["Billing", "web-frontend", "web-worker"]),  # name or description
        ("?q=JOBS", ["web-worker"]),
        ("?q=%20jobs%20", ["web-worker"]),  # spaces around it are not searched for
        ("?service=api&q=web", ["Billing"]),  # filters combine
        ("?status=active&name=web", ["web-frontend"]),
        ("?service=nothing", []),
    ],
)
def test_each_repository_filter(repos, query, expected):
    assert names(repos, query) == expected


def test_a_filter_narrows_the_count_and_the_pages(repos):
    body = repos.get(REPOS + "?q=web&page_size=2").json()
    assert body["count"] == 3 and len(body["results"]) == 2
    assert "q=web" in body["next"]
    second = repos.get(body["next"]).json()
    assert [row["name"] for row in second["results"]] == ["web-worker"]


def test_filters_never_show_another_projects_repositories(world, repos):
    make_repo(world, project=world.other, name="web-other")
    assert "web-other" not in names(repos, "?q=web")
    other = client_for(world.users["other_admin"])
    response = other.get(REPOS + "?q=web")
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        (
            "?status=removing",
            "status",  # a state of access entries, never of a repository
            "Select a valid choice. removing is not one of the available choices.",
        ),
        (
            "?status=ACTIVE",
            "status",
            "Select a valid choice. ACTIVE is not one of the available choices.",
        ),
        (
            "?name=" + "x" * 257,
            "name",
            "Ensure this value has at most 256 characters (it has 257).",
        ),
        (
            "?service=" + "s" * 64,
            "service",
            "Ensure this value has at most 63 characters (it has 64).",
        ),
        ("?q=" + "q" * 1001, "q", "Ensure this value has at most 1000 characters (it has 1001)."),
    ],
)
def test_a_bad_filter_value_is_a_400_naming_the_filter(repos, query, field, message):
    response = repos.get(REPOS + query)
    assert response.status_code == 400
    assert response.json() == {
        "error": {"code": "invalid", "message": f"{field}: {message}", "fields": {field: [message]}}
    }


def test_every_bad_filter_is_named(repos):
    response = repos.get(REPOS + "?status=nope&name=" + "x" * 300)
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"status", "name"}


# --- Projects -------------------------------------------------------------------------


@pytest.fixture
def projects(world):
    for shortname, name, description in [
        ("billing", "Billing team", "Invoices"),
        ("shop", "Web shop", "Pages of the SHOP"),
        ("data", "Data", "Warehouse"),
    ]:
        project = Project.objects.create(shortname=shortname, name=name, description=description)
        Membership.objects.create(project=project, user=world.users["member"], role=Role.MEMBER)
    return client_for(world.users["member"])


def shortnames(client, query: str) -> list[str]:
    response = client.get(f"{API}projects/{query}")
    assert response.status_code == 200, response.json()
    return [row["shortname"] for row in response.json()["results"]]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["acp", "billing", "data", "shop"]),
        ("?name=TEAM", ["billing"]),
        ("?name=shop", ["shop"]),
        ("?name=billing", ["billing"]),
        ("?q=shop", ["shop"]),  # shortname, name or description
        ("?q=invoices", ["billing"]),
        ("?q=a", ["acp", "billing", "data", "shop"]),
        ("?q=house", ["data"]),
        ("?name=web&q=pages", ["shop"]),
        ("?q=other", []),  # a project the member does not belong to is never found
    ],
)
def test_each_project_filter(projects, query, expected):
    assert shortnames(projects, query) == expected


def test_a_bad_project_filter_value_is_a_400_naming_the_filter(projects):
    response = projects.get(f"{API}projects/?name=" + "n" * 101)
    assert response.status_code == 400
    message = "Ensure this value has at most 100 characters (it has 101)."
    assert response.json() == {
        "error": {"code": "invalid", "message": f"name: {message}", "fields": {"name": [message]}}
    }


def test_the_schema_documents_the_filters(client, db):
    schema = client.get("/api/schema/?format=json").json()
    repo_list = schema["paths"]["/api/v1/projects/{shortname}/docker-repos/"]["get"]
    parameters = {p["name"]: p for p in repo_list["parameters"] if p["in"] == "query"}
    assert {"status", "service", "name", "q"} <= set(parameters)
    assert parameters["status"]["schema"]["enum"] == ["active", "deleting", "failed", "pending"]
    assert "400" in repo_list["responses"]
    project_list = schema["paths"]["/api/v1/projects/"]["get"]
    assert {"name", "q"} <= {p["name"] for p in project_list["parameters"]}
