"""A repository's registry host and region come from one place (DockerRepo.registry and
.region, read from the URI and ARN ECR gave it), and every page shows those."""

import pytest
from django.urls import reverse

from docker_repos.models import DockerRepo
from hub.choices import Status
from tests.access_helpers import fake_robot
from tests.helpers import page

REGISTRY = "210987654321.dkr.ecr.ap-southeast-2.amazonaws.com"


@pytest.fixture
def repo(world):
    """An active repository in another account and region than the hub's defaults."""
    return DockerRepo.objects.create(
        project=world.project,
        service=world.service,
        name="web",
        status=Status.ACTIVE,
        uri=f"{REGISTRY}/acp/web",
        arn="arn:aws:ecr:ap-southeast-2:210987654321:repository/acp/web",
    )


def test_the_registry_and_region_are_read_from_the_uri_and_arn(repo, settings):
    assert (repo.registry, repo.region) == (REGISTRY, "ap-southeast-2")
    waiting = DockerRepo(name="new", uri="", arn="")
    assert (waiting.registry, waiting.region) == ("", settings.AWS_DEFAULT_REGION)


def test_the_pages_show_the_repositorys_registry_and_region(world, client, repo, aws):
    client.force_login(world.users["member"])
    detail = client.get(reverse("docker_repos:detail", args=["acp", repo.pk]))
    assert detail.status_code == 200
    assert (
        f"aws ecr get-login-password --region ap-southeast-2 | docker login --username "
        f"AWS --password-stdin {REGISTRY}"
    ) in page(detail)
    robot = fake_robot(repo, "drone-ci")
    robot_page = client.get(reverse("docker_repos:robot", args=["acp", repo.pk, robot.pk]))
    assert robot_page.status_code == 200
    body = page(robot_page)
    assert f"REGISTRY_URL={REGISTRY}" in body
    assert "AWS_DEFAULT_REGION=ap-southeast-2" in body
    assert f"docker-server={REGISTRY}" in body
