"""Every ECR call the hub makes. Failures come out as hub.aws.AwsError (transient or
permanent); "not found" on reads and deletes is an ordinary answer, not an error."""

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from botocore.exceptions import ClientError

from hub.aws import AwsError, AwsTransientError, aws_call, classify, client, error_code


@dataclass(frozen=True)
class EcrRepository:
    name: str
    uri: str
    arn: str
    registry_id: str
    tag_mutability: str
    scan_on_push: bool


class RepositoryNameTaken(Exception):
    """create_repository found the name already in use."""


def _ecr():
    return client("ecr")


def _repository(data: dict) -> EcrRepository:
    return EcrRepository(
        name=data["repositoryName"],
        uri=data["repositoryUri"],
        arn=data["repositoryArn"],
        registry_id=data["registryId"],
        tag_mutability=data.get("imageTagMutability", "MUTABLE"),
        scan_on_push=data.get("imageScanningConfiguration", {}).get("scanOnPush", False),
    )


def describe_repository(name: str) -> EcrRepository | None:
    try:
        with aws_call(f"look up repository {name}", ok_codes=("RepositoryNotFoundException",)):
            response = _ecr().describe_repositories(repositoryNames=[name])
    except ClientError:
        return None
    return _repository(response["repositories"][0])


def create_repository(
    name: str, *, tags: dict[str, str], tag_mutability: str, scan_on_push: bool
) -> EcrRepository:
    try:
        with aws_call(f"create repository {name}", ok_codes=("RepositoryAlreadyExistsException",)):
            response = _ecr().create_repository(
                repositoryName=name,
                tags=[{"Key": k, "Value": v} for k, v in sorted(tags.items())],
                imageTagMutability=tag_mutability,
                imageScanningConfiguration={"scanOnPush": scan_on_push},
            )
    except ClientError:
        raise RepositoryNameTaken(name) from None
    return _repository(response["repository"])


def repository_tags(arn: str) -> dict[str, str]:
    with aws_call("read the repository's tags"):
        response = _ecr().list_tags_for_resource(resourceArn=arn)
    return {tag["Key"]: tag["Value"] for tag in response.get("tags", [])}


def put_settings(name: str, *, tag_mutability: str, scan_on_push: bool) -> None:
    ecr = _ecr()
    with aws_call(f"apply the settings of {name}"):
        ecr.put_image_tag_mutability(repositoryName=name, imageTagMutability=tag_mutability)
        ecr.put_image_scanning_configuration(
            repositoryName=name, imageScanningConfiguration={"scanOnPush": scan_on_push}
        )


def get_lifecycle_policy(name: str) -> dict | None:
    try:
        with aws_call(
            f"read the lifecycle policy of {name}", ok_codes=("LifecyclePolicyNotFoundException",)
        ):
            response = _ecr().get_lifecycle_policy(repositoryName=name)
    except ClientError:
        return None
    return json.loads(response["lifecyclePolicyText"])


def put_lifecycle_policy(name: str, policy: dict | None) -> None:
    """Write the lifecycle policy, or remove it when `policy` is None."""
    ecr = _ecr()
    if policy is None:
        try:
            with aws_call(
                f"remove the lifecycle policy of {name}",
                ok_codes=("LifecyclePolicyNotFoundException",),
            ):
                ecr.delete_lifecycle_policy(repositoryName=name)
        except ClientError:
            pass
        return
    with aws_call(f"write the lifecycle policy of {name}"):
        ecr.put_lifecycle_policy(repositoryName=name, lifecyclePolicyText=json.dumps(policy))


def get_repository_policy(name: str) -> dict | None:
    try:
        with aws_call(
            f"read the repository policy of {name}", ok_codes=("RepositoryPolicyNotFoundException",)
        ):
            response = _ecr().get_repository_policy(repositoryName=name)
    except ClientError:
        return None
    return json.loads(response["policyText"])


def set_repository_policy(name: str, policy: dict | None) -> None:
    """Write the whole repository policy, or remove it when `policy` is None."""
    ecr = _ecr()
    if policy is None:
        try:
            with aws_call(
                f"remove the repository policy of {name}",
                ok_codes=("RepositoryPolicyNotFoundException",),
            ):
                ecr.delete_repository_policy(repositoryName=name)
        except ClientError:
            pass
        return
    doing = f"write the repository policy of {name}"
    try:
        with aws_call(doing, ok_codes=("InvalidParameterException",)):
            ecr.set_repository_policy(repositoryName=name, policyText=json.dumps(policy))
    except ClientError as exc:
        raise classify_policy_rejection(exc, doing) from exc


# How ECR answers a policy naming an IAM principal it does not know (yet): a new IAM user
# takes a few seconds to be visible to ECR (IAM is eventually consistent).
POLICY_REJECTED = "Invalid repository policy provided"


def classify_policy_rejection(exc: ClientError, doing: str) -> AwsError:
    """SetRepositoryPolicy's InvalidParameterException. The hub renders the document
    itself (and checks its size), so "Invalid repository policy provided" almost always
    means a principal IAM has just created: transient, retried with backoff. Any other
    invalid parameter is permanent."""
    message = exc.response.get("Error", {}).get("Message", "")
    if POLICY_REJECTED in message:
        return AwsTransientError(
            f"ECR does not accept the repository policy yet, most likely because a new IAM "
            f"user is not visible to it yet (this takes a few seconds) while trying to "
            f"{doing}",
            code="PolicyPrincipalNotReady",
        )
    return classify(exc, doing)


def delete_repository(name: str) -> bool:
    """Delete the repository and every image in it. False if it was already gone."""
    try:
        with aws_call(f"delete repository {name}", ok_codes=("RepositoryNotFoundException",)):
            _ecr().delete_repository(repositoryName=name, force=True)
    except ClientError as exc:
        if error_code(exc) == "RepositoryNotFoundException":
            return False
        raise
    return True


_NEVER = datetime.min.replace(tzinfo=UTC)  # sorts before any push time


@dataclass(frozen=True)
class Image:
    digest: str
    tags: list[str]
    pushed_at: datetime | None  # ECR may leave it out
    size_bytes: int


def list_images(
    name: str, *, page_token: str | None = None, page_size: int = 20
) -> tuple[list[Image], str | None]:
    """One page of the repository's images, newest first within the page."""
    kwargs = {"repositoryName": name, "maxResults": page_size}
    if page_token:
        kwargs["nextToken"] = page_token
    with aws_call(f"list the images of {name}"):
        response = _ecr().describe_images(**kwargs)
    images = [
        Image(
            digest=d["imageDigest"],
            tags=sorted(d.get("imageTags", [])),
            pushed_at=d.get("imagePushedAt"),
            size_bytes=d.get("imageSizeInBytes", 0),
        )
        for d in response.get("imageDetails", [])
    ]
    return newest_first(images), response.get("nextToken")


def newest_first(images: list[Image]) -> list[Image]:
    """Newest push first; an image ECR gives no push time for comes last."""
    return sorted(images, key=lambda image: image.pushed_at or _NEVER, reverse=True)


def iter_repository_pages(*, page_size: int = 1000):
    """Every repository in the registry, one page (a list of EcrRepository) at a time."""
    token = None
    while True:
        kwargs = {"maxResults": page_size}
        if token:
            kwargs["nextToken"] = token
        with aws_call("list the registry's repositories"):
            response = _ecr().describe_repositories(**kwargs)
        yield [_repository(data) for data in response.get("repositories", [])]
        token = response.get("nextToken")
        if not token:
            return
