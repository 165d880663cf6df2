"""Secret access keys never reach a log line, and no page shows one to anyone but its
owner (people) or a repo manager who asked for it (robots)."""

import logging

import pytest
from django.urls import reverse

from docker_repos.access import access_set
from docker_repos.models import RobotAccount
from identities import services as identity_services
from projects.models import Project
from tests.access_helpers import active_repo, converging
from tests.helpers import page, shown_page


def test_no_secret_in_any_log_line_of_a_full_flow(
    world, aws, client, caplog, created_secrets, django_capture_on_commit_callbacks
):
    caplog.set_level(logging.DEBUG)
    # botocore would log response bodies (with new keys) at DEBUG: the hub keeps it at
    # WARNING whatever HUB_LOG_LEVEL says.
    assert logging.getLogger("botocore").getEffectiveLevel() >= logging.WARNING
    member, padmin = world.users["member"], world.users["project_admin"]
    repo = active_repo(world)
    with converging(django_capture_on_commit_callbacks):
        access_set(
            actor=member,
            repo=repo,
            robots=[{"name": "ci"}],
            users=[
                {"username": "member", "writable": True},
                {"username": "padmin", "writable": False},
            ],
        )
    robot = RobotAccount.objects.get()
    args = ["acp", repo.pk]
    client.force_login(member)
    for url in (
        reverse("docker_repos:detail", args=args),
        reverse("docker_repos:access-fragment", args=args),
        reverse("docker_repos:robot", args=[*args, robot.pk]),
        reverse("identities:connected"),
    ):
        assert client.get(url).status_code == 200
    assert (
        client.post(
            reverse("docker_repos:robot-reveal", args=[*args, robot.pk]), follow=True
        ).status_code
        == 200
    )
    assert client.post(reverse("identities:ecr-reveal"), follow=True).status_code == 200
    with converging(django_capture_on_commit_callbacks):
        client.post(reverse("docker_repos:robot-rotate", args=[*args, robot.pk]))
        client.post(reverse("identities:ecr-rotate"))
        identity_services.ecr_identity_rotate(user=padmin)
    with converging(django_capture_on_commit_callbacks):
        padmin.is_active = False
        padmin.save()
    with converging(django_capture_on_commit_callbacks):
        access_set(actor=member, repo=repo, robots=[], users=[])
    assert len(created_secrets) == 6  # a robot and two people, each rotated once
    assert caplog.records, "the flow logged something (at DEBUG)"
    for record in caplog.records:
        text = record.getMessage() + (record.exc_text or "")
        if record.exc_info:
            text += logging.Formatter().formatException(record.exc_info)
        for secret in created_secrets:
            assert secret not in text, f"a secret in a log line of {record.name}"


@pytest.fixture
def flow(world, aws, created_secrets, django_capture_on_commit_callbacks):
    repo = active_repo(world)
    with converging(django_capture_on_commit_callbacks):
        access_set(
            actor=world.users["project_admin"],
            repo=repo,
            robots=[{"name": "ci"}],
            users=[
                {"username": "member", "writable": False},
                {"username": "padmin", "writable": False},
            ],
        )
    assert len(created_secrets) == 3
    return repo


@pytest.mark.parametrize("mode", ["members", "admins"])
@pytest.mark.parametrize(
    "role", ["member", "project_admin", "hub_admin", "non_member", "other_admin"]
)
def test_no_page_shows_a_secret_unless_revealed(world, client, flow, created_secrets, role, mode):
    Project.objects.filter(pk=world.project.pk).update(repo_management=mode)
    robot = RobotAccount.objects.get()
    args = ["acp", flow.pk]
    client.force_login(world.users[role])
    # Each page, with its answer and something it then shows (an error page shows nothing).
    in_project = role in ("member", "project_admin", "hub_admin")
    manages = in_project and (role != "member" or mode == "members")
    pages = {
        reverse("docker_repos:project-repos", args=["acp"]): 'data-repo="acp/web"',
        reverse("docker_repos:project-repos-fragment", args=["acp"]): 'data-repo="acp/web"',
        reverse("docker_repos:detail", args=args): 'data-robot="ci"',
        reverse("docker_repos:access", args=args): 'value="member"',
        reverse("docker_repos:access-fragment", args=args): 'data-robot="ci"',
        reverse(
            "docker_repos:robot", args=[*args, robot.pk]
        ): 'Robot account <span class="mono">ci</span>',
        # The one-time page, with nothing revealed just before.
        reverse("docker_repos:robot-secret", args=[*args, robot.pk]): 'id="secret-shown-once"',
    }
    expected = {url: (200, shown) if in_project else (404, None) for url, shown in pages.items()}
    if in_project and not manages:  # managing access and robots is for repo managers
        for url in (
            reverse("docker_repos:access", args=args),
            reverse("docker_repos:robot", args=[*args, robot.pk]),
            reverse("docker_repos:robot-secret", args=[*args, robot.pk]),
        ):
            expected[url] = (403, None)
    for url in (reverse("identities:connected"), reverse("identities:ecr-status")):
        expected[url] = (200, 'id="ecr-identity"')
    expected[reverse("identities:ecr-secret")] = (200, 'id="ecr-identity"')
    for url, (status, shown) in expected.items():
        response = client.get(url)
        assert response.status_code == status, (url, role)
        body = shown_page(response) if status == 200 else page(response)
        if shown is not None:
            assert shown in body, (url, role)
        for secret in created_secrets:
            assert secret not in body, f"{url} as {role}"
        if role == "member" and mode == "admins":
            assert robot.access_key_id not in body, f"{url}: a robot key id for a non-manager"
