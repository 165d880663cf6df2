"""The admin's robot accounts, repository access and ECR identities: visible, retryable,
never showing a secret."""

import pytest
from django.urls import reverse

from docker_repos.models import RepoAccess, RobotAccount
from hub.choices import Status
from identities.models import EcrIdentity
from tests.access_helpers import FAKE_SECRET, fake_active_repo, fake_identity, fake_robot


@pytest.fixture
def operator(make_user, client):
    user = make_user("operator", staff=True, is_superuser=True)
    client.force_login(user)
    return user


@pytest.fixture
def rows(world):
    repo = fake_active_repo(world)
    robot = fake_robot(repo, "drone-ci", status=Status.FAILED)
    identity = fake_identity(world.users["member"], status=Status.FAILED)
    access = RepoAccess.objects.create(
        repo=repo, user=world.users["member"], status=Status.FAILED, status_detail="AWS said no"
    )
    return robot, identity, access


@pytest.mark.parametrize(
    "model", ["docker_repos_robotaccount", "docker_repos_repoaccess", "identities_ecridentity"]
)
def test_lists_and_pages_show_no_secret(operator, client, rows, model):
    robot, identity, access = rows
    obj = {
        "docker_repos_robotaccount": robot,
        "docker_repos_repoaccess": access,
        "identities_ecridentity": identity,
    }[model]
    listing = client.get(reverse(f"admin:{model}_changelist"))
    assert listing.status_code == 200
    assert "Failed" in listing.content.decode()
    page = client.get(reverse(f"admin:{model}_change", args=[obj.pk]))
    assert page.status_code == 200
    for response in (listing, page):
        body = response.content.decode()
        assert FAKE_SECRET not in body and "gAAAAA" not in body
        assert "secret_access_key_encrypted" not in body


def test_search_and_filters(operator, client, rows):
    url = reverse("admin:docker_repos_robotaccount_changelist")
    assert "drone-ci" in client.get(url, {"q": "drone"}).content.decode()
    assert "drone-ci" not in client.get(url, {"status__exact": "active"}).content.decode()


def test_retry_failed_action(operator, client, rows, django_capture_on_commit_callbacks):
    robot, identity, access = rows
    for model, obj in (
        ("docker_repos_robotaccount", robot),
        ("docker_repos_repoaccess", access),
        ("identities_ecridentity", identity),
    ):
        with django_capture_on_commit_callbacks(execute=False):
            response = client.post(
                reverse(f"admin:{model}_changelist"),
                {"action": "retry_failed", "_selected_action": [obj.pk]},
            )
        assert response.status_code == 302
    assert RobotAccount.objects.get().status == Status.PENDING
    assert RepoAccess.objects.get().status == Status.PENDING
    assert EcrIdentity.objects.get().status == Status.PENDING
