"""Bad requests are refused before anything is stored or sent to AWS: by the service (with
the offending fields) and on the request form (400, the message shown, nothing created)."""

import pytest
from django.urls import reverse

from docker_repos import services
from docker_repos.access import MAX_ACCESS_ENTRIES, access_set
from docker_repos.models import DockerRepo, RobotAccount
from hub.exceptions import Conflict, InvalidInput
from hub.models import AuditEvent
from projects.models import Service
from tests.access_helpers import converging, fake_active_repo
from tests.helpers import assert_shows

from .support import ecr_repositories, request_repo

NAME_RULE = (
    "Use lowercase letters and digits, separated by single '.', '_', '-' or '/' "
    "(no separator at the start, at the end or twice in a row)."
)
LENGTH_RULE = "The full name 'acp/<name>' must fit ECR's 256-character limit."
FITS = "a" * (256 - len("acp/"))  # acp/ + 252 = 256 characters
TOO_LONG = FITS + "b"

BAD_NAMES = [
    "Hello",
    "hello-World",
    "-hello",
    "hello-",
    "_hello",
    "hello.",
    "/hello",
    "hello/",
    "hello--world",
    "hello//world",
    "hello._world",
    "hello world",
    " hello world ",
    "héllo",
    "hello@1",
    "",
]
GOOD_NAMES = ["a", "7", "hello-world-app", "team/app.v2", "a_b-c.d/e", FITS]


@pytest.fixture
def nothing_happens(db, django_capture_on_commit_callbacks):
    """Asserts, after the test, that no repository, audit event or task was made."""
    repos, events = DockerRepo.objects.count(), AuditEvent.objects.count()
    with django_capture_on_commit_callbacks() as sent:
        yield
    assert DockerRepo.objects.count() == repos
    assert AuditEvent.objects.count() == events
    assert sent == [], "no task may be sent"


def refused(world, error=InvalidInput, *, actor="member", **kwargs) -> InvalidInput:
    options = {
        "actor": world.users[actor],
        "project": world.project,
        "service": world.service,
        "name": "web",
    } | kwargs
    with pytest.raises(error) as caught:
        services.repo_request(**options)
    return caught.value


# --- The service ------------------------------------------------------------------------


@pytest.mark.parametrize("name", BAD_NAMES)
def test_names_break_ecrs_rule(world, nothing_happens, name):
    error = refused(world, name=name)
    expected = "This field cannot be blank." if not name else NAME_RULE
    assert error.fields["name"] == [expected]


@pytest.mark.parametrize("name", GOOD_NAMES)
def test_names_that_follow_the_rule(world, name):
    repo = request_repo(world, name)
    assert DockerRepo.objects.get(pk=repo.pk).name == name


def test_the_full_name_must_fit_256_characters(world, nothing_happens):
    error = refused(world, name=TOO_LONG)
    assert error.fields["name"] == [LENGTH_RULE]
    assert len(f"acp/{TOO_LONG}") == 257


@pytest.mark.parametrize("which", ["instance", "id", "missing id"])
def test_the_service_must_belong_to_the_project(world, nothing_happens, which):
    foreign = Service.objects.create(project=world.other, name="other-app")
    service = {"instance": foreign, "id": foreign.pk, "missing id": 999999}[which]
    error = refused(world, service=service)
    assert error.fields == {"service": ["Choose a service of this project."]}


@pytest.mark.parametrize("keep", [0, -1, -100, 10001])
def test_keep_last_images_must_be_1_to_10000(world, nothing_happens, keep):
    error = refused(world, keep_last_images=keep)
    assert list(error.fields) == ["keep_last_images"]


def test_an_unknown_tag_mutability_is_refused(world, nothing_happens):
    error = refused(world, tag_mutability="SOMETIMES")
    assert list(error.fields) == ["tag_mutability"]


def test_a_duplicate_is_refused_before_any_aws_call(
    world, ecr, ecr_calls, django_capture_on_commit_callbacks
):
    with converging(django_capture_on_commit_callbacks):
        request_repo(world, "web")
    ecr_calls.clear()
    events = AuditEvent.objects.count()

    with django_capture_on_commit_callbacks() as sent:
        error = refused(world, Conflict, name="web", actor="project_admin", description="again")
    with django_capture_on_commit_callbacks() as sent_also:
        error_also = refused(
            world,
            Conflict,
            name="web",
            service=Service.objects.create(project=world.project, name="b"),
        )

    assert error.message == "A repository named acp/web already exists."
    assert error.fields == {"name": ["A repository with this name already exists in the project."]}
    assert error_also.fields == error.fields, "the name is unique in the project"
    assert ecr_calls == []
    assert (sent, sent_also) == ([], [])
    assert DockerRepo.objects.filter(name="web").count() == 1
    assert AuditEvent.objects.count() == events
    assert ecr_repositories(ecr) == ["acp/web"]


def test_the_same_name_in_another_project_is_fine(world):
    other_service = Service.objects.create(project=world.other, name="other-app")
    request_repo(world, "web")
    repo = services.repo_request(
        actor=world.users["other_admin"], project=world.other, service=other_service, name="web"
    )
    assert repo.full_name == "other/web"


# --- The request form -------------------------------------------------------------------


def form_data(world, **overrides) -> dict:
    return {
        "service": world.service.pk,
        "name": "web",
        "description": "",
        "tag_mutability": "MUTABLE",
        "scan_on_push": "on",
    } | overrides


FORM_CASES = {
    "uppercase": ({"name": "Hello"}, NAME_RULE),
    "leading separator": ({"name": "-hello"}, NAME_RULE),
    "trailing separator": ({"name": "hello/"}, NAME_RULE),
    "double separator": ({"name": "hello__world"}, NAME_RULE),
    "space": ({"name": "hello world"}, NAME_RULE),
    "no name": ({"name": ""}, "This field is required."),
    "full name of 257": ({"name": TOO_LONG}, LENGTH_RULE),
    "name of 300": (
        {"name": "a" * 300},
        "Ensure this value has at most 256 characters (it has 300).",
    ),
    "keep 0 images": (
        {"keep_last_images": "0"},
        "Ensure this value is greater than or equal to 1.",
    ),
    "keep -5 images": (
        {"keep_last_images": "-5"},
        "Ensure this value is greater than or equal to 1.",
    ),
    "keep 1.5 images": ({"keep_last_images": "1.5"}, "Enter a whole number."),
    "description of 1001": (
        {"description": "x" * 1001},
        "Ensure this value has at most 1000 characters (it has 1001).",
    ),
    "bad mutability": (
        {"tag_mutability": "SOMETIMES"},
        "Select a valid choice. SOMETIMES is not one of the available choices.",
    ),
}


@pytest.mark.parametrize(("overrides", "message"), FORM_CASES.values(), ids=FORM_CASES.keys())
def test_the_form_shows_what_is_wrong_and_creates_nothing(
    world, client, nothing_happens, overrides, message
):
    client.force_login(world.users["member"])
    response = client.post(
        reverse("docker_repos:request", args=["acp"]), form_data(world, **overrides)
    )
    assert response.status_code == 400
    assert_shows(response, message)


def test_the_form_offers_only_this_projects_services(world, client, nothing_happens):
    foreign = Service.objects.create(project=world.other, name="other-app")
    client.force_login(world.users["member"])
    page = client.get(reverse("docker_repos:request", args=["acp"]))
    assert "hello-world-app" in page.content.decode()
    assert "other-app" not in page.content.decode()

    response = client.post(
        reverse("docker_repos:request", args=["acp"]), form_data(world, service=foreign.pk)
    )
    assert response.status_code == 400
    assert_shows(
        response, "Select a valid choice. That choice is not one of the available choices."
    )


def test_the_form_refuses_a_duplicate(world, client, django_capture_on_commit_callbacks):
    request_repo(world, "web")
    client.force_login(world.users["member"])
    with django_capture_on_commit_callbacks() as sent:
        response = client.post(reverse("docker_repos:request", args=["acp"]), form_data(world))
    assert response.status_code == 400
    assert_shows(response, "A repository with this name already exists in the project.")
    assert sent == []
    assert DockerRepo.objects.count() == 1


def test_a_good_form_creates_one_pending_repository(
    world, client, django_capture_on_commit_callbacks
):
    client.force_login(world.users["member"])
    with django_capture_on_commit_callbacks() as sent:
        response = client.post(
            reverse("docker_repos:request", args=["acp"]),
            form_data(
                world,
                name="web",
                keep_last_images="10",
                tag_mutability="IMMUTABLE",
                scan_on_push="",
            ),
        )
    assert response.status_code == 302
    assert response["Location"] == reverse("docker_repos:project-repos", args=["acp"])
    repo = DockerRepo.objects.get()
    assert (
        repo.full_name,
        repo.status,
        repo.keep_last_images,
        repo.tag_mutability,
        repo.scan_on_push,
    ) == ("acp/web", "pending", 10, "IMMUTABLE", False)
    assert len(sent) == 1


# --- An access list longer than any repository policy can hold --------------------------

HUGE = 20_000


@pytest.mark.parametrize("which", ["robots", "users"])
def test_a_huge_access_list_is_refused_before_any_query(world, django_assert_num_queries, which):
    """Refused from its length: no query, so no lock is taken (the 20,000-name list ran a
    query per entry inside the repository's lock, blocking everyone's writes)."""

    repo = fake_active_repo(world)
    lists = {"robots": [], "users": []}
    lists[which] = (
        [{"name": f"robot-{n}"} for n in range(HUGE)]
        if which == "robots"
        else [{"username": f"person-{n}", "writable": True} for n in range(HUGE)]
    )
    with django_assert_num_queries(0), pytest.raises(InvalidInput) as caught:
        access_set(actor=world.users["member"], repo=repo, **lists)
    assert f"at most {MAX_ACCESS_ENTRIES} robots and people together" in caught.value.message


def test_malformed_access_entries_are_refused_before_any_query(world, django_assert_num_queries):
    repo = fake_active_repo(world)
    with django_assert_num_queries(0), pytest.raises(InvalidInput) as caught:
        access_set(actor=world.users["member"], repo=repo, robots=[{"name": ""}], users=[])
    assert caught.value.fields == {"robots": ["Every robot account needs a name."]}


def test_manage_access_shows_the_same_message_for_a_huge_list(world, client):
    repo = fake_active_repo(world)
    client.force_login(world.users["member"])
    response = client.post(
        reverse("docker_repos:access", args=["acp", repo.pk]),
        {"new_robots": " ".join(f"robot-{n}" for n in range(HUGE))},
    )
    assert response.status_code == 400
    assert_shows(
        response, f"An access list can name at most {MAX_ACCESS_ENTRIES} robots and people together"
    )
    assert not RobotAccount.objects.exists()
