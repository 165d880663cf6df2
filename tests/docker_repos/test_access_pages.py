"""What the access pages show, to whom: MANAGE ACCESS, the repository's robots and people,
a robot's credentials and snippets."""

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from docker_repos.models import RepoAccess, RobotAccount
from hub import live
from hub.choices import Status
from hub.models import AuditEvent
from projects.models import Project
from tests.access_helpers import FAKE_SECRET, fake_active_repo, fake_identity, fake_robot
from tests.helpers import assert_shows, db_state, live_polls, page, shown_page


@pytest.fixture
def repo(world):
    return fake_active_repo(world, "hello-world-app")


def urls(repo, robot=None):
    args = ["acp", repo.pk]
    result = {
        "detail": reverse("docker_repos:detail", args=args),
        "fragment": reverse("docker_repos:access-fragment", args=args),
        "manage": reverse("docker_repos:access", args=args),
    }
    if robot is not None:
        result.update(
            robot=reverse("docker_repos:robot", args=[*args, robot.pk]),
            reveal=reverse("docker_repos:robot-reveal", args=[*args, robot.pk]),
            rotate=reverse("docker_repos:robot-rotate", args=[*args, robot.pk]),
        )
    return result


def admins_only(world):
    Project.objects.filter(pk=world.project.pk).update(repo_management="admins")


def test_the_repository_lists_robots_and_people_with_their_status(world, client, repo, aws):
    robot = fake_robot(repo, "drone-ci")
    failed = fake_robot(repo, "broken", status=Status.FAILED)
    RobotAccount.objects.filter(pk=failed.pk).update(status_detail="IAM said no")
    fake_identity(world.users["member"])
    RepoAccess.objects.create(repo=repo, user=world.users["member"], status=Status.ACTIVE)
    pending = RepoAccess.objects.create(
        repo=repo, user=world.users["project_admin"], writable=True, status=Status.PENDING
    )
    client.force_login(world.users["project_admin"])
    body = shown_page(client.get(urls(repo)["detail"]))
    assert 'data-robot="drone-ci"' in body and 'data-robot="broken"' in body
    assert 'data-person="member"' in body and 'data-person="padmin"' in body
    assert "Pull + push" in body
    assert "IAM said no" in body
    assert reverse("docker_repos:robot-retry", args=["acp", repo.pk, failed.pk]) in body
    assert robot.access_key_id in body, "repo managers see the access key id"
    assert urls(repo, robot)["reveal"] in body and urls(repo, robot)["rotate"] in body
    assert urls(repo)["manage"] in body, "the MANAGE ACCESS button"
    # Every person listed links to Connected Identities.
    assert body.count(f'href="{reverse("identities:connected")}"') >= 3
    # Something is pending: that row, and only that row, refreshes itself.
    assert live_polls(body) == {
        f"person-row-{pending.pk}": f"{urls(repo)['fragment']}"
        f"?person={pending.pk}&v={live.version_of(pending)}"
    }
    assert FAKE_SECRET not in body


def test_the_list_stops_polling_once_nothing_is_in_flight(world, client, repo):
    fake_robot(repo)
    client.force_login(world.users["member"])
    body = page(client.get(urls(repo)["fragment"]))
    assert 'data-robot="ci"' in body
    assert live_polls(body) == {}


def test_a_row_poll_swaps_nothing_until_the_entry_changed_and_goes_once_it_is_gone(
    world, client, repo
):
    robot = fake_robot(repo, "drone-ci", status=Status.REMOVING)
    access = RepoAccess.objects.create(repo=repo, user=world.users["member"], status=Status.PENDING)
    client.force_login(world.users["member"])
    polls = live_polls(page(client.get(urls(repo)["detail"])))
    robot_poll, person_poll = polls[f"robot-row-{robot.pk}"], polls[f"person-row-{access.pk}"]
    assert client.get(robot_poll).status_code == 204
    assert client.get(person_poll).status_code == 204

    RepoAccess.objects.filter(pk=access.pk).update(status=Status.ACTIVE, updated_at=timezone.now())
    body = page(client.get(person_poll))
    assert f'id="person-row-{access.pk}"' in body and 'data-status="active"' in body
    assert "data-robot=" not in body, "only the row asked for"
    assert live_polls(body) == {}, "settled: that row stops polling"

    robot.delete()
    response = client.get(robot_poll)
    assert response.status_code == 200 and "data-robot=" not in page(response)


@pytest.mark.parametrize("role", ["member", "hub_admin", "project_admin"])
def test_members_who_do_not_manage_see_no_robot_key_id(world, client, repo, role, aws):
    admins_only(world)
    robot = fake_robot(repo)
    client.force_login(world.users[role])
    manages = role != "member"
    for url in (urls(repo)["detail"], urls(repo)["fragment"]):
        body = shown_page(client.get(url))
        assert 'data-robot="ci"' in body, "everyone in the project sees the robot"
        assert (robot.access_key_id in body) is manages
        assert (urls(repo, robot)["reveal"] in body) is manages
        assert FAKE_SECRET not in body
    detail = page(client.get(urls(repo)["detail"]))
    assert (f'href="{urls(repo)["manage"]}"' in detail) is manages


def test_manage_access_lists_members_with_pull_and_push_unticked_by_default(world, client, repo):
    client.force_login(world.users["project_admin"])
    response = client.get(urls(repo)["manage"])
    body = page(response)
    for username in ("member", "padmin"):
        assert f'name="pull" value="{username}"' in body
        assert f'name="push" value="{username}"' in body
    assert "checked" not in body
    assert_shows(response, "generally people should never be given write access")
    assert 'data-implies="#pull-1"' in body


def test_saving_applies_the_whole_form(world, client, repo, django_capture_on_commit_callbacks):
    keep, drop = fake_robot(repo, "keep"), fake_robot(repo, "drop")
    client.force_login(world.users["member"])
    form = {
        "remove_robot": ["drop"],
        "new_robots": "drone-ci, gha",
        "pull": ["member"],
        "push": ["padmin"],
    }  # push without pull ticked: both
    # A robot goes: first the summary, nothing saved.
    before = db_state()
    summary = client.post(urls(repo)["manage"], form)
    assert summary.status_code == 200 and db_state() == before
    reviewed = re.search(r'name="reviewed" value="([0-9a-f]+)"', page(summary)).group(1)
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(urls(repo)["manage"], {**form, "confirm": "1", "reviewed": reviewed})
    assert response.status_code == 302 and response["Location"] == urls(repo)["detail"]
    robots = dict(RobotAccount.objects.values_list("name", "status"))
    assert robots == {
        "keep": Status.ACTIVE,
        "drop": Status.REMOVING,
        "drone-ci": Status.PENDING,
        "gha": Status.PENDING,
    }
    people = {a.user.username: a.writable for a in RepoAccess.objects.select_related("user")}
    assert people == {"member": False, "padmin": True}
    assert keep.pk and drop.pk
    # The form shows the desired state back.
    body = page(client.get(urls(repo)["manage"]))
    assert 'name="pull" value="member" id="pull-1" checked' in body
    assert 'name="push" value="member"' in body
    assert 'value="padmin" id="push-2" data-implies="#pull-2" checked' in body


def test_a_refused_save_shows_why_and_keeps_what_was_ticked(world, client, repo):
    client.force_login(world.users["member"])
    response = client.post(urls(repo)["manage"], {"new_robots": "Drone_CI", "pull": ["member"]})
    assert response.status_code == 400
    assert_shows(response, "lowercase letters, digits and hyphens")
    body = page(response)
    assert 'value="Drone_CI"' in body
    assert 'name="pull" value="member" id="pull-1" checked' in body
    assert not RobotAccount.objects.exists() and not RepoAccess.objects.exists()


def test_a_repository_that_is_not_active_offers_no_form(world, client, repo):
    repo.status = Status.PENDING
    repo.save()
    client.force_login(world.users["member"])
    body = page(client.get(urls(repo)["manage"]))
    assert "once the repository is active" in body
    assert 'name="pull"' not in body


def test_revealing_a_robot_secret_shows_it_once_uncached_and_audited(world, client, repo):
    robot = fake_robot(repo, "drone-ci")
    client.force_login(world.users["member"])
    page_body = shown_page(client.get(urls(repo, robot)["robot"]))
    assert robot.access_key_id in page_body and FAKE_SECRET not in page_body
    secret_url = reverse("docker_repos:robot-secret", args=["acp", repo.pk, robot.pk])
    response = client.post(urls(repo, robot)["reveal"])
    # Post/redirect/get: the reveal is recorded, the secret shown by the GET.
    assert response.status_code == 302 and response["Location"] == secret_url
    stashed = str(client.session.items())
    assert "hub_oneshot" in stashed and FAKE_SECRET not in stashed, "kept encrypted"
    response = client.get(secret_url)
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store, private"
    assert FAKE_SECRET in page(response)
    assert 'data-copy="#robot-secret"' in page(response)
    reveals = AuditEvent.objects.filter(
        action="robot.credentials_revealed", actor=world.users["member"]
    )
    assert reveals.count() == 1
    # A reload (or the address reopened): the hub's page says it was shown once; no
    # second reveal is recorded.
    again = client.get(secret_url)
    assert again.status_code == 200 and FAKE_SECRET not in page(again)
    assert_shows(again, "This secret was shown once")
    assert urls(repo, robot)["reveal"] in page(again), "Reveal is offered again"
    assert reveals.count() == 1
    # Back on the page: hidden again.
    hidden = shown_page(client.get(urls(repo, robot)["robot"]))
    assert robot.access_key_id in hidden and FAKE_SECRET not in hidden
    # The reveal form's address opened as a page: the hub's page, pointing at the robot.
    opened = client.get(urls(repo, robot)["reveal"])
    assert opened.status_code == 405
    assert f'href="{urls(repo, robot)["robot"]}"' in page(opened)
    assert reveals.count() == 1


def test_the_robot_page_has_cli_v2_snippets_for_this_repository(world, client, repo):
    robot = fake_robot(repo, "drone-ci")
    client.force_login(world.users["project_admin"])
    body = shown_page(client.get(urls(repo, robot)["robot"]))
    registry = "123456789012.dkr.ecr.eu-west-2.amazonaws.com"
    assert "ecr get-login-password | docker login --username AWS --password-stdin" in body
    assert "get-login --no-include-email" not in body and "docker login -u AWS -p" not in body
    assert f"REGISTRY_URL={registry}" in body
    assert "$${REGISTRY_URL}/acp/hello-world-app:$${DRONE_COMMIT_SHA}" in body
    assert "${{ secrets.AWS_SECRET_ACCESS_KEY }}" in body  # GitHub Actions
    assert "imagePullSecret" in body and "docker-registry" in body  # Kubernetes
    assert FAKE_SECRET not in body


def test_rotate_from_the_page(world, client, repo, django_capture_on_commit_callbacks):
    robot = fake_robot(repo)
    client.force_login(world.users["member"])
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(urls(repo, robot)["rotate"])
    assert response.status_code == 302
    robot.refresh_from_db()
    assert robot.status == Status.PENDING and robot.rotation_requested
    assert len(callbacks) == 1


def summary_of(response) -> dict[str, list[str]]:
    """The confirmation page's lists: {"removed": [...], "changed": [...], "granted": [...]}."""
    body = page(response)
    return {
        kind: [
            re.sub(r"<[^>]+>", "", item).strip()
            for item in re.findall(r"<li>(.*?)</li>", found.group(1))
        ]
        if (found := re.search(rf'<ul class="changes {kind}">(.*?)</ul>', body, re.S))
        else []
        for kind in ("removed", "changed", "granted")
    }


def test_unticking_someone_shows_who_loses_what_and_asks_first(world, client, repo):
    """The issue's case: one Space on a ticked Pull cleared Push too, and Save removed all
    of that person's access. Now Save shows who loses what, and nothing changes until
    Confirm."""
    RepoAccess.objects.create(
        repo=repo, user=world.users["member"], writable=True, status=Status.ACTIVE
    )
    RepoAccess.objects.create(
        repo=repo, user=world.users["project_admin"], writable=True, status=Status.ACTIVE
    )
    fake_robot(repo, "old-ci")
    client.force_login(world.users["project_admin"])
    before = db_state()
    # member unticked; padmin down to pull; a robot removed; a robot added.
    form = {"pull": ["padmin"], "remove_robot": ["old-ci"], "new_robots": "new-ci"}
    response = client.post(urls(repo)["manage"], form)
    assert response.status_code == 200
    assert db_state() == before, "nothing is saved before Confirm"
    assert summary_of(response) == {
        "removed": [
            "member loses pull + push access",
            "Robot account old-ci is removed (its IAM user and key are deleted)",
        ],
        "changed": ["padmin: pull + push → pull"],
        "granted": ["Robot account new-ci is added"],
    }
    assert_shows(response, "Nothing is saved yet")
    body = page(response)
    for hidden in (
        'name="pull" value="padmin"',
        'name="remove_robot" value="old-ci"',
        'name="new_robots" value="new-ci"',
    ):
        assert hidden in body

    # Change the selection: back to the form with the ticks as submitted, nothing saved.
    back = client.post(urls(repo)["manage"], {**form, "edit": "1"})
    assert back.status_code == 200 and db_state() == before
    assert 'name="pull" value="padmin" id="pull-2" checked' in page(back)
    assert 'name="pull" value="member" id="pull-1" >' in page(back)

    reviewed = re.search(r'name="reviewed" value="([0-9a-f]+)"', body).group(1)
    done = client.post(urls(repo)["manage"], {**form, "confirm": "1", "reviewed": reviewed})
    assert done.status_code == 302
    accesses = {
        a.user.username: (a.writable, a.status) for a in RepoAccess.objects.select_related("user")
    }
    assert accesses == {"member": (True, Status.REMOVING), "padmin": (False, Status.PENDING)}
    message = page(client.get(urls(repo)["detail"]))
    assert (
        "Access to acp/hello-world-app saved: padmin changes from pull + push to pull; "
        "member loses pull + push; robot account new-ci is added; robot account old-ci "
        "is removed."
    ) in message
    assert 'data-until-settled="#repo-access"' in message


def test_granting_only_saves_straight_away_and_says_what_changed(world, client, repo):
    client.force_login(world.users["member"])
    response = client.post(urls(repo)["manage"], {"pull": ["member"], "push": ["padmin"]})
    assert response.status_code == 302
    body = page(client.get(urls(repo)["detail"]))
    assert "saved: member gets pull; padmin gets pull + push." in body
    # pull → pull + push is more, not less: no question either.
    response = client.post(urls(repo)["manage"], {"pull": ["member"], "push": ["member", "padmin"]})
    assert response.status_code == 302
    assert RepoAccess.objects.get(user=world.users["member"]).writable


def test_a_confirmation_of_an_older_state_is_not_saved(world, client, repo):
    """Confirm saves exactly what was reviewed: if someone changed the list meanwhile, the
    summary is shown again, with the changes as they are now."""
    RepoAccess.objects.create(repo=repo, user=world.users["member"], status=Status.ACTIVE)
    client.force_login(world.users["project_admin"])
    summary = client.post(urls(repo)["manage"], {})
    reviewed = re.search(r'name="reviewed" value="([0-9a-f]+)"', page(summary)).group(1)
    # Meanwhile padmin is given pull by someone else.
    RepoAccess.objects.create(repo=repo, user=world.users["project_admin"], status=Status.ACTIVE)
    before = db_state()
    response = client.post(urls(repo)["manage"], {"confirm": "1", "reviewed": reviewed})
    assert response.status_code == 200 and db_state() == before
    assert "Someone changed this repository's access meanwhile" in page(response)
    assert summary_of(response)["removed"] == [
        "member loses pull access",
        "padmin loses pull access",
    ]


def test_robot_name_errors_are_shown_once_next_to_the_field(world, client, repo):
    """Each message once, at the field: an existing name says it exists, an 80-character
    name gets one message with the one limit (the room IAM leaves for this repository)."""
    fake_robot(repo, "drone-ci")
    client.force_login(world.users["member"])
    room = 64 - len("hub-robot-acp-hello-world-app-")
    for typed, expected in [
        ("drone-ci", "A robot account named drone-ci already exists on this repository."),
        (
            "x" * 80,
            f"Use at most {room} characters for a robot account of this repository "
            "(this name has 80)",
        ),
        ("Drone_CI", "Use lowercase letters, digits and hyphens"),
        ("gha gha", "gha is typed twice."),
    ]:
        response = client.post(urls(repo)["manage"], {"new_robots": typed})
        body = page(response)
        assert response.status_code == 400, typed
        field_errors = re.search(
            r'<ul class="errorlist" id="new-robots-error">(.*?)</ul>', body, re.S
        ).group(1)
        assert len(re.findall("<li>", field_errors)) == 1, (typed, field_errors)
        assert expected in field_errors.replace("&#x27;", "'"), (typed, field_errors)
        assert body.count(expected.split(" (")[0].replace("'", "&#x27;")) == 1, (
            f"{typed}: the message is shown once"
        )
        assert "given twice" not in body and "64 characters" not in body
        assert 'aria-invalid="true"' in body and "new-robots-error" in body
        assert "Nothing was saved: correct what is marked below." in body
