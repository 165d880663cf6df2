"""Helpers of the repository tests (fixtures are in conftest.py)."""

import json

from botocore.awsrequest import AWSResponse

from docker_repos import services
from docker_repos.models import DockerRepo

PULL_ROLES = ["arn:aws:iam::123456789012:role/node", "arn:aws:iam::123456789012:role/ci-node"]


class Crash(BaseException):
    """The worker dies here (like SIGKILL): no `except Exception` of the hub catches it."""


def aws_error(code: str, status: int = 400, message: str = "Rate exceeded"):
    """What a `before-call` handler returns to make the client fail as AWS would: the
    client raises ClientError(code) and sends nothing (botocore's own retries are skipped,
    as if they had all been used up)."""
    http = AWSResponse("https://api.ecr.test/", status, {}, None)
    parsed = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return http, parsed


class _Body:
    def __init__(self, data: bytes):
        self.data = data

    def stream(self, **kwargs):
        yield self.data


def aws_http_error(request, code: str, status: int, message: str = "Try again") -> AWSResponse:
    """What a `before-send` handler returns: the HTTP answer of an AWS JSON-protocol error.
    botocore parses it and applies its own retry rules, as with a real answer."""
    body = json.dumps({"__type": code, "message": message}).encode()
    return AWSResponse(
        request.url, status, {"Content-Type": "application/x-amz-json-1.1"}, _Body(body)
    )


def request_repo(world, name: str = "web", *, actor: str = "member", **settings) -> DockerRepo:
    """Request a repository as a project member; the task is not run (in a test's
    transaction, on-commit callbacks never fire)."""
    return services.repo_request(
        actor=world.users[actor],
        project=world.project,
        service=world.service,
        name=name,
        **settings,
    )


def run(task, repo_id: int):
    """Run a task the way Celery's eager mode does, retries included, and require that the
    task itself finished (its outcome is on the row)."""
    result = task.apply(args=[repo_id])
    assert result.successful(), (result.state, result.result, result.traceback)
    return result


def ecr_repositories(ecr) -> list[str]:
    return sorted(r["repositoryName"] for r in ecr.describe_repositories()["repositories"])


def ecr_tags(ecr, arn: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in ecr.list_tags_for_resource(resourceArn=arn)["tags"]}


def lifecycle_policy(ecr, name: str) -> dict | None:
    try:
        return json.loads(ecr.get_lifecycle_policy(repositoryName=name)["lifecyclePolicyText"])
    except ecr.exceptions.LifecyclePolicyNotFoundException:
        return None


def repository_policy(ecr, name: str) -> dict | None:
    try:
        return json.loads(ecr.get_repository_policy(repositoryName=name)["policyText"])
    except ecr.exceptions.RepositoryPolicyNotFoundException:
        return None


def ecr_state(ecr, name: str) -> dict:
    """Everything the hub sets on an ECR repository, to compare two runs."""
    found = ecr.describe_repositories(repositoryNames=[name])["repositories"][0]
    return {
        "uri": found["repositoryUri"],
        "arn": found["repositoryArn"],
        "tag_mutability": found["imageTagMutability"],
        "scan_on_push": found["imageScanningConfiguration"]["scanOnPush"],
        "tags": ecr_tags(ecr, found["repositoryArn"]),
        "lifecycle": lifecycle_policy(ecr, name),
        "policy": repository_policy(ecr, name),
    }


def push_image(ecr, name: str, tag: str, *, layer: str = "1") -> str:
    """Put an image (a manifest; moto keeps no layers) into the repository; its digest."""
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {
            "mediaType": "application/vnd.docker.container.image.v1+json",
            "size": 7023,
            "digest": "sha256:" + "c" * 63 + layer,
        },
        "layers": [
            {
                "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                "size": 32654,
                "digest": "sha256:" + "a" * 63 + layer,
            }
        ],
    }
    response = ecr.put_image(repositoryName=name, imageManifest=json.dumps(manifest), imageTag=tag)
    return response["image"]["imageId"]["imageDigest"]
