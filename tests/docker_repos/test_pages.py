"""The ALL DOCKER REPOS page: its query count does not grow with the repositories, only its
rows in flight poll (each itself), and a failed repository shows why and offers Retry."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from docker_repos import services
from docker_repos.models import DockerRepo
from hub import live
from hub.choices import Status
from projects.models import Service
from tests.access_helpers import converging, send_enqueued
from tests.helpers import assert_shows, live_polls

from .support import push_image, request_repo

PAGES = ["docker_repos:project-repos", "docker_repos:project-repos-fragment"]
STATUSES = [Status.PENDING, Status.ACTIVE, Status.DELETING, Status.FAILED]


def make_repos(world, first: int, count: int) -> None:
    """Repositories that differ in everything the list shows: service, requester, status."""
    requesters = [
        world.users["member"],
        world.users["project_admin"],
        world.users["hub_admin"],
        None,
    ]
    for number in range(first, first + count):
        service = Service.objects.create(project=world.project, name=f"service-{number}")
        DockerRepo.objects.create(
            project=world.project,
            service=service,
            name=f"repo-{number:02}",
            description=f"Repository {number}",
            status=STATUSES[number % len(STATUSES)],
            status_detail="AWS refused the name" if number % 4 == 3 else "",
            uri=f"123456789012.dkr.ecr.eu-west-2.amazonaws.com/acp/repo-{number:02}",
            requested_by=requesters[number % len(requesters)],
        )


def queries(client, url) -> tuple[list[str], str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return [q["sql"] for q in captured.captured_queries], response.content.decode()


@pytest.mark.parametrize("url_name", PAGES)
@pytest.mark.parametrize("role", ["member", "hub_admin"])
def test_the_query_count_does_not_grow_with_the_repositories(world, client, url_name, role):
    client.force_login(world.users[role])
    url = reverse(url_name, args=["acp"])
    make_repos(world, 0, 1)
    client.get(url)  # warm-up: the session, content types
    one, body = queries(client, url)
    assert body.count('<tr data-repo="') == 1

    make_repos(world, 1, 29)
    thirty, body = queries(client, url)

    assert body.count('<tr data-repo="') == 30
    assert len(thirty) == len(one), "\n".join(["with 1:", *one, "with 30:", *thirty])


def test_only_the_rows_in_flight_poll_and_each_polls_itself(
    world, client, ecr, django_capture_on_commit_callbacks
):
    """A live row re-fetches itself alone (`?repo=<id>&v=<version>`, hx-select picks it
    from the answer); a settled row, or a page with nothing in flight, polls nothing."""
    client.force_login(world.users["member"])
    page = reverse("docker_repos:project-repos", args=["acp"])
    fragment = reverse("docker_repos:project-repos-fragment", args=["acp"])
    with converging(django_capture_on_commit_callbacks):
        settled = request_repo(world, "settled")
    assert live_polls(client.get(page).content.decode()) == {}, "all settled: no polling"

    repo = request_repo(world, "web")
    body = client.get(page).content.decode()
    assert live_polls(body) == {
        f"repo-row-{repo.pk}": f"{fragment}?repo={repo.pk}&v={live.version_of(repo)}"
    }
    assert f'hx-select="#repo-row-{repo.pk}" hx-trigger="every 2s" hx-swap="outerHTML"' in body
    assert f'id="repo-row-{settled.pk}"' in body, "a settled row keeps its id, nothing more"


def test_a_row_poll_swaps_nothing_until_its_row_changed(
    world, client, ecr, django_capture_on_commit_callbacks
):
    """204 (htmx swaps nothing) while the row is as shown; the changed row once it moved,
    without polling once settled; an empty list once the repository is gone."""
    capture = django_capture_on_commit_callbacks
    client.force_login(world.users["member"])
    with capture() as sent:
        repo = request_repo(world, "web")
    poll = live_polls(
        client.get(reverse("docker_repos:project-repos", args=["acp"])).content.decode()
    )[f"repo-row-{repo.pk}"]
    assert client.get(poll).status_code == 204
    assert client.get(poll).status_code == 204, "asking again changes nothing"

    send_enqueued(capture, sent)
    response = client.get(poll)
    body = response.content.decode()
    assert response.status_code == 200
    assert body.count("<tr data-repo=") == 1 and f'id="repo-row-{repo.pk}"' in body
    assert 'data-status="active"' in body and live_polls(body) == {}, "settled: stops"
    assert f'id="manage-access-{repo.pk}"' in body, "its buttons keep their ids (focus)"

    repo.refresh_from_db()
    with capture() as sent:
        services.repo_delete(actor=world.users["member"], repo=repo)
    deleting = client.get(reverse("docker_repos:project-repos", args=["acp"])).content.decode()
    poll = live_polls(deleting)[f"repo-row-{repo.pk}"]
    assert ">Deleting</span>" in deleting
    send_enqueued(capture, sent)
    gone = client.get(poll)
    assert gone.status_code == 200 and "<tr data-repo=" not in gone.content.decode()


def test_the_repository_page_polls_its_status_until_settled(
    world, client, ecr, django_capture_on_commit_callbacks
):
    client.force_login(world.users["member"])
    with django_capture_on_commit_callbacks() as sent:
        repo = request_repo(world, "web")
    detail = reverse("docker_repos:detail", args=["acp", repo.pk])
    status = reverse("docker_repos:status-fragment", args=["acp", repo.pk])
    poll = live_polls(client.get(detail).content.decode())["repo-status"]
    assert poll == f"{status}?v={live.version_of(repo)}"
    assert client.get(poll).status_code == 204
    assert "repo-manage-access" not in client.get(detail).content.decode()

    send_enqueued(django_capture_on_commit_callbacks, sent)

    response = client.get(poll)
    body = response.content.decode()
    assert response.status_code == 200 and live_polls(body) == {}
    assert 'data-status="active"' in body
    # The page's buttons follow out of band: MANAGE ACCESS appears without a reload.
    assert 'id="repo-actions" hx-swap-oob="true"' in body and 'id="repo-manage-access"' in body
    assert live_polls(client.get(detail).content.decode()) == {}


def test_a_failed_repository_shows_the_reason_and_retry(
    world, client, ecr, django_capture_on_commit_callbacks
):
    ecr.create_repository(repositoryName="acp/taken")  # not the hub's
    with converging(django_capture_on_commit_callbacks):
        repo = request_repo(world, "taken")
    repo.refresh_from_db()
    assert repo.status == Status.FAILED
    client.force_login(world.users["member"])
    retry = reverse("docker_repos:retry", args=["acp", repo.pk])

    for url in (
        reverse("docker_repos:project-repos", args=["acp"]),
        reverse("docker_repos:project-repos-fragment", args=["acp"]),
        reverse("docker_repos:detail", args=["acp", repo.pk]),
        reverse("docker_repos:status-fragment", args=["acp", repo.pk]),
    ):
        response = client.get(url)
        body = response.content.decode()
        assert 'data-status="failed"' in body and ">Failed</span>" in body, url
        assert_shows(response, repo.status_detail)
        assert f'action="{retry}"' in body, url
        assert live_polls(body) == {}, url

    # Retry from the page: pending again, and polling again.
    ecr.delete_repository(repositoryName="acp/taken")
    response = client.post(retry)
    assert response.status_code == 302
    repo.refresh_from_db()
    assert (repo.status, repo.status_detail) == (Status.PENDING, "")
    assert (
        live_polls(client.get(reverse("docker_repos:project-repos", args=["acp"])).content.decode())
        != {}
    )


def test_the_repository_page_lists_its_images_commands_and_history(
    world, client, ecr, django_capture_on_commit_callbacks
):
    with converging(django_capture_on_commit_callbacks):
        repo = request_repo(world, "web")
    repo.refresh_from_db()
    digest = push_image(ecr, "acp/web", "v1.2.3")
    client.force_login(world.users["member"])

    response = client.get(reverse("docker_repos:detail", args=["acp", repo.pk]))

    body = response.content.decode()
    assert "v1.2.3" in body
    assert digest[:20] in body
    assert f"docker pull {repo.uri}:&lt;tag&gt;" in body
    assert f"docker push {repo.uri}:v0.0.1" in body
    # Its history, in sentences.
    assert "The repository acp/web is active in ECR" in body
    assert "requested the repository acp/web (service " in body


def test_the_list_is_paged_and_searchable_at_a_constant_cost(world, client):
    client.force_login(world.users["member"])
    url = reverse("docker_repos:project-repos", args=["acp"])
    make_repos(world, 0, 3)
    client.get(url)
    three, body = queries(client, url)
    assert body.count('<tr data-repo="') == 3
    assert "Page 1 of" not in body

    make_repos(world, 3, 57)  # 60 in all
    first, body = queries(client, url)
    assert body.count('<tr data-repo="') == 50
    assert "Page 1 of 2 · 60 repositories" in body
    assert len(first) == len(three)
    second, body = queries(client, url + "?page=2")
    assert body.count('<tr data-repo="') == 10
    assert len(second) == len(first)

    _, body = queries(client, url + "?q=repo-5")
    assert sorted(re.findall(r'<tr data-repo="acp/(repo-\d+)"', body)) == [
        f"repo-{n}" for n in range(50, 60)
    ]
    _, body = queries(client, url + "?q=nothing-like-this")
    assert "No repository name or description contains \u201cnothing-like-this\u201d" in body


def page_rows(body: str) -> list[str]:
    return re.findall(r'<tr data-repo="acp/([^"]+)"', body)


@pytest.mark.parametrize(
    "query",
    [
        "q=repo-1",
        "q=REPOSITORY%2012",
        "status=failed",
        "status=pending&q=repo-0",
        "service=service-7",
        "name=O-2",
        "q=%20repo-2%20",
    ],
)
def test_the_search_finds_what_the_api_finds(world, client, query):
    """The page's search is the API's FilterSet (docker_repos/filters.py): the same query
    gives the same rows, the descriptions searched by `q` included."""
    make_repos(world, 0, 30)
    client.force_login(world.users["member"])
    response = client.get(reverse("docker_repos:project-repos", args=["acp"]) + "?" + query)
    assert response.status_code == 200
    api = client.get(f"/api/v1/projects/acp/docker-repos/?page_size=200&{query}").json()
    expected = [row["name"] for row in api["results"]]
    assert expected, "the query finds something"
    assert page_rows(response.content.decode()) == expected


def test_the_search_keeps_its_filters_across_pages(world, client):
    make_repos(world, 0, 60)
    client.force_login(world.users["member"])
    url = reverse("docker_repos:project-repos", args=["acp"])
    body = client.get(url + "?q=Repository&status=active").content.decode()
    assert len(page_rows(body)) == 15  # every fourth of the 60 is active
    body = client.get(url + "?q=repo").content.decode()
    assert 'href="?page=2&amp;q=repo"' in body
    assert len(page_rows(client.get(url + "?page=2&q=repo").content.decode())) == 10


def test_a_bad_filter_value_is_said_and_the_other_filters_apply(world, client):
    make_repos(world, 0, 8)
    client.force_login(world.users["member"])
    url = reverse("docker_repos:project-repos", args=["acp"])
    response = client.get(url + "?status=removing&q=repo-0")
    assert response.status_code == 400
    body = response.content.decode()
    assert (
        '<div class="alert alert-error" role="alert" id="filter-errors">Not applied: '
        "Status: Select a valid choice. removing is not one of the available choices."
        "</div>"
    ) in body
    assert page_rows(body) == [f"repo-0{n}" for n in range(8)]


def test_updated_just_now_not_0_minutes_ago(world, client):
    client.force_login(world.users["member"])
    make_repos(world, 0, 2)
    DockerRepo.objects.filter(name="repo-01").update(
        updated_at=timezone.now() - timedelta(minutes=5)
    )
    body = client.get(reverse("docker_repos:project-repos", args=["acp"])).content.decode()
    assert "0 minutes ago" not in body
    assert re.search(r'<time datetime="[^"]+">just now</time>', body)
    assert re.search(r'<time datetime="[^"]+">5\xa0minutes ago</time>', body)


def test_the_request_notice_waits_for_its_row(world, client, django_capture_on_commit_callbacks):
    """ "it becomes Active in a few seconds" names the row it is about; hub.js removes it
    once that row has settled (the e2e test watches it go)."""
    client.force_login(world.users["member"])
    with django_capture_on_commit_callbacks(execute=False):
        client.post(
            reverse("docker_repos:request", args=["acp"]),
            {"service": world.service.pk, "name": "web", "tag_mutability": "MUTABLE"},
        )
    repo = DockerRepo.objects.get(name="web")
    body = client.get(reverse("docker_repos:project-repos", args=["acp"])).content.decode()
    assert (
        f'data-until-settled="#repo-row-{repo.pk}">Repository acp/web requested: it '
        "becomes Active in a few seconds."
    ) in body
    assert f'id="repo-row-{repo.pk}" hx-get=' in body


@pytest.mark.parametrize(
    ("mode", "role", "says_why"),
    [("admins", "member", True), ("admins", "project_admin", False), ("members", "member", False)],
)
def test_a_member_who_may_not_request_is_told_why(world, client, mode, role, says_why):
    world.project.repo_management = mode
    world.project.save()
    client.force_login(world.users[role])
    body = client.get(reverse("docker_repos:project-repos", args=["acp"])).content.decode()
    assert ('id="why-no-request"' in body) is says_why
    assert ("Request new Docker repo" in body) is not says_why
    if says_why:
        assert "only project admins request repositories" in body


def test_a_poll_after_the_session_ended_reloads_the_page_instead_of_swapping_sign_in(world, client):
    """The sign-in page must never be swapped into a table row: htmx gets HX-Refresh (the
    page reloads, and that goes to sign in); a plain request still gets the redirect."""
    repo = DockerRepo.objects.create(project=world.project, service=world.service, name="web")
    url = reverse("docker_repos:project-repos-fragment", args=["acp"]) + f"?repo={repo.pk}&v=1"
    polled = client.get(url, headers={"HX-Request": "true"})
    assert polled.status_code == 204 and polled["HX-Refresh"] == "true"
    plain = client.get(url)
    assert plain.status_code == 302 and "/accounts/login/" in plain["Location"]


def test_the_request_form_names_each_service_once(world, client):
    """The project is in the heading and before the name: the options are the services'
    names alone ("billing", not "acp/billing")."""
    Service.objects.create(project=world.project, name="billing")
    client.force_login(world.users["member"])
    body = client.get(reverse("docker_repos:request", args=["acp"])).content.decode()
    options = re.findall(r"<option value=\"\d+\"[^>]*>([^<]*)</option>", body)
    assert "billing" in options
    assert not [o for o in options if o.startswith("acp/")], options


def test_on_a_phone_each_repository_cell_says_what_it_is(
    world, client, ecr, django_capture_on_commit_callbacks
):
    """On a phone the table is a stack of cards without its header row: each cell carries
    its column's name (data-label), shown before it."""
    with converging(django_capture_on_commit_callbacks):
        request_repo(world, "web")
    client.force_login(world.users["member"])
    body = client.get(reverse("docker_repos:project-repos", args=["acp"])).content.decode()
    header = re.search(r"<thead>(.*?)</thead>", body, re.S).group(1)
    columns = re.findall(r"<th scope=\"col\">([^<]*)</th>", header)
    row = re.search(r'<tr data-repo="acp/web"[^>]*>(.*?)</tr>', body, re.S).group(1)
    labels = re.findall(r'<td[^>]* data-label="([^"]+)"', row)
    assert labels == columns == ["Status", "Repository", "Service", "Requested", "Updated"]
