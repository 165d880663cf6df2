"""Helpers of the REST API tests."""

from django.utils import timezone
from rest_framework.test import APIClient

from docker_repos.models import DockerRepo
from docker_repos.selectors import hub_tags
from hub.aws import client
from hub.choices import Status
from identities.models import ApiToken
from identities.services import api_token_create
from projects.models import Service

API = "/api/v1/"


def token_for(user) -> str:
    """A new personal API token of `user`, marked as just used (so using it in a test does
    not write `last_used_at`, and a refused request changes no row)."""
    api_token, token = api_token_create(user=user, name="tests")
    ApiToken.objects.filter(pk=api_token.pk).update(last_used_at=timezone.now())
    return token


def client_for(user) -> APIClient:
    """An API client with a token of `user`; no credentials for None."""
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(user)}")
    return client


class Url:
    """A URL built from `world` when the test runs (it may create rows), with a label for
    test ids."""

    def __init__(self, label: str, build):
        self.label, self.build = label, build

    def __call__(self, world) -> str:
        return self.build(world)

    def __repr__(self) -> str:
        return self.label


def make_repo(
    world,
    *,
    project=None,
    service=None,
    name="web",
    status=Status.ACTIVE,
    in_ecr: bool = False,
    **fields,
) -> DockerRepo:
    """A repository row in the given state, without running any task. `in_ecr` also
    creates it in (moto's) ECR, for endpoints that read ECR."""
    project = project or world.project
    if service is None:
        service = (
            world.service
            if project == world.project
            else Service.objects.get_or_create(project=project, name="app")[0]
        )
    repo = DockerRepo.objects.create(
        project=project, service=service, name=name, status=status, **fields
    )
    if in_ecr:
        created = client("ecr").create_repository(
            repositoryName=repo.full_name,
            tags=[{"Key": k, "Value": v} for k, v in hub_tags(repo).items()],
        )
        repo.uri, repo.arn = (
            created["repository"]["repositoryUri"],
            created["repository"]["repositoryArn"],
        )
    elif status == Status.ACTIVE:
        repo.uri = f"123456789012.dkr.ecr.eu-west-2.amazonaws.com/{repo.full_name}"
    DockerRepo.objects.filter(pk=repo.pk).update(uri=repo.uri, arn=repo.arn)
    return repo
