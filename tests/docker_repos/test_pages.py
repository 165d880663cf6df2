"""The ALL DOCKER REPOS page: its query count does not grow with the repositories, it polls
only while something is in flight, and a failed repository shows why and offers Retry."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from docker_repos import services
from docker_repos.models import DockerRepo
from hub.choices import Status
from projects.models import Service
from tests.access_helpers import converging, send_enqueued
from tests.helpers import assert_shows

from .support import push_image, request_repo

PAGES = ["docker_repos:project-repos", "docker_repos:project-repos-fragment"]
STATUSES = [Status.PENDING, Status.ACTIVE, Status.DELETING, Status.FAILED]


def make_repos(world, first: int, count: int) -> None:
    """Repositories that differ in everything the list shows: service, requester, status."""
    requesters = [world.users["member"], world.users["project_admin"],
                  world.users["hub_admin"], None]
    for number in range(first, first + count):
        service = Service.objects.create(project=world.project, name=f"service-{number}")
        DockerRepo.objects.create(
            project=world.project, service=service, name=f"repo-{number:02}",
            description=f"Repository {number}", status=STATUSES[number % len(STATUSES)],
            status_detail="AWS refused the name" if number % 4 == 3 else "",
            uri=f"123456789012.dkr.ecr.eu-west-2.amazonaws.com/acp/repo-{number:02}",
            requested_by=requesters[number % len(requesters)])


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


def poll_url(body: str) -> str | None:
    found = re.search(r'id="repo-list" data-poll-url="([^"]+)" data-poll-interval="2000"', body)
    return found and found.group(1)


def status_poll_url(body: str) -> str | None:
    found = re.search(r'id="repo-status" data-poll-url="([^"]+)"', body)
    return found and found.group(1)


def test_the_page_polls_only_while_something_is_in_flight(
        world, client, ecr, django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    client.force_login(world.users["member"])
    page = reverse("docker_repos:project-repos", args=["acp"])
    fragment = reverse("docker_repos:project-repos-fragment", args=["acp"])

    def polls() -> tuple[str | None, str | None]:
        return (poll_url(client.get(page).content.decode()),
                poll_url(client.get(fragment).content.decode()))

    with converging(capture):
        request_repo(world, "settled")
    assert polls() == (None, None), "all settled: no polling"

    with capture() as sent:
        repo = request_repo(world, "web")
    assert polls() == (fragment, fragment), "pending: poll the fragment"

    send_enqueued(capture, sent)
    assert polls() == (None, None)

    repo.refresh_from_db()
    with capture() as sent:
        services.repo_delete(actor=world.users["member"], repo=repo)
    assert polls() == (fragment, fragment), "deleting: poll"
    body = client.get(fragment).content.decode()
    assert 'data-status="deleting"' in body and ">Deleting</span>" in body

    send_enqueued(capture, sent)
    assert polls() == (None, None)
    assert 'data-repo="acp/web"' not in client.get(page).content.decode()


def test_the_repository_page_polls_its_status_until_settled(
        world, client, ecr, django_capture_on_commit_callbacks):
    client.force_login(world.users["member"])
    with django_capture_on_commit_callbacks() as sent:
        repo = request_repo(world, "web")
    detail = reverse("docker_repos:detail", args=["acp", repo.pk])
    status = reverse("docker_repos:status-fragment", args=["acp", repo.pk])
    assert status_poll_url(client.get(detail).content.decode()) == status
    assert status_poll_url(client.get(status).content.decode()) == status

    send_enqueued(django_capture_on_commit_callbacks, sent)

    assert status_poll_url(client.get(status).content.decode()) is None
    body = client.get(detail).content.decode()
    assert status_poll_url(body) is None
    assert 'data-status="active"' in body


def test_a_failed_repository_shows_the_reason_and_retry(
        world, client, ecr, django_capture_on_commit_callbacks):
    ecr.create_repository(repositoryName="acp/taken")  # not the hub's
    with converging(django_capture_on_commit_callbacks):
        repo = request_repo(world, "taken")
    repo.refresh_from_db()
    assert repo.status == Status.FAILED
    client.force_login(world.users["member"])
    retry = reverse("docker_repos:retry", args=["acp", repo.pk])

    for url in (reverse("docker_repos:project-repos", args=["acp"]),
                reverse("docker_repos:project-repos-fragment", args=["acp"]),
                reverse("docker_repos:detail", args=["acp", repo.pk]),
                reverse("docker_repos:status-fragment", args=["acp", repo.pk])):
        response = client.get(url)
        body = response.content.decode()
        assert 'data-status="failed"' in body and ">Failed</span>" in body, url
        assert_shows(response, repo.status_detail)
        assert f'action="{retry}"' in body, url
        assert poll_url(body) is None and status_poll_url(body) is None, url

    # Retry from the page: pending again, and polling again.
    ecr.delete_repository(repositoryName="acp/taken")
    response = client.post(retry)
    assert response.status_code == 302
    repo.refresh_from_db()
    assert (repo.status, repo.status_detail) == (Status.PENDING, "")
    assert poll_url(client.get(reverse("docker_repos:project-repos", args=["acp"]))
                    .content.decode())


def test_the_repository_page_lists_its_images_commands_and_history(
        world, client, ecr, django_capture_on_commit_callbacks):
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
        f"repo-{n}" for n in range(50, 60)]
    _, body = queries(client, url + "?q=nothing-like-this")
    assert "No repository name contains" in body


def test_the_polled_fragment_keeps_the_page_and_search(world, client):
    client.force_login(world.users["member"])
    make_repos(world, 0, 60)
    body = client.get(reverse("docker_repos:project-repos", args=["acp"]) + "?page=2&q=repo"
                      ).content.decode()
    assert poll_url(body).endswith("fragment/?q=repo&amp;page=2")


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
        world, client, ecr, django_capture_on_commit_callbacks):
    """On a phone the table is a stack of cards without its header row: each cell carries
    its column's name (data-label), shown before it."""
    with converging(django_capture_on_commit_callbacks):
        request_repo(world, "web")
    client.force_login(world.users["member"])
    body = client.get(reverse("docker_repos:project-repos", args=["acp"])).content.decode()
    header = re.search(r"<thead>(.*?)</thead>", body, re.S).group(1)
    columns = re.findall(r"<th scope=\"col\">([^<]*)</th>", header)
    row = re.search(r'<tr data-repo="acp/web">(.*?)</tr>', body, re.S).group(1)
    labels = re.findall(r'<td[^>]* data-label="([^"]+)"', row)
    assert labels == columns == ["Status", "Repository", "Service", "Requested", "Updated"]
