"""Pure functions that render the AWS documents of a repository from the database's
desired state. Same input, same document: a sync is idempotent and drift is a comparison."""

import json

ECR_POLICY_MAX_CHARS = 10240

PULL_ACTIONS = (
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
)
PUSH_ACTIONS = (
    "ecr:CompleteLayerUpload",
    "ecr:InitiateLayerUpload",
    "ecr:PutImage",
    "ecr:UploadLayerPart",
)


class PolicyTooLarge(ValueError):
    pass


def render_repository_policy(*, pull: list[str], push: list[str]) -> dict | None:
    """The repository policy: `pull` principals (ARNs) may pull, `push` principals may pull
    and push. None when nobody is granted anything (the policy is then removed)."""
    pushers = sorted(set(push))
    pullers = sorted(set(pull) - set(pushers))
    statements = []
    if pullers:
        statements.append(
            {
                "Sid": "HubPull",
                "Effect": "Allow",
                "Principal": {"AWS": pullers},
                "Action": list(PULL_ACTIONS),
            }
        )
    if pushers:
        statements.append(
            {
                "Sid": "HubPullPush",
                "Effect": "Allow",
                "Principal": {"AWS": pushers},
                "Action": [*PULL_ACTIONS, *PUSH_ACTIONS],
            }
        )
    if not statements:
        return None
    policy = {"Version": "2012-10-17", "Statement": statements}
    size = len(_compact(policy))
    if size > ECR_POLICY_MAX_CHARS:
        raise PolicyTooLarge(
            f"The access list needs a {size}-character repository policy; ECR allows "
            f"{ECR_POLICY_MAX_CHARS}. Remove some people or robots from this repository."
        )
    return policy


def render_access_policy(
    *, readers: list[str], writers: list[str], robots: list[str], cluster: list[str]
) -> dict | None:
    """The repository policy of an access list: `readers` (people) and `cluster`
    (HUB_ECR_PULL_PRINCIPALS, e.g. cluster node roles) pull; `writers` (people) and
    `robots` pull and push. A principal in both lists gets the wider grant once."""
    return render_repository_policy(pull=[*cluster, *readers], push=[*writers, *robots])


def placeholder_user_arn(iam_username: str) -> str:
    """The ARN an IAM user of the hub will have, with a 12-digit stand-in for the account
    (every account id has 12 digits): the size of a policy is known before the user is."""
    return f"arn:aws:iam::000000000000:user/platform-hub/{iam_username}"


def render_lifecycle_policy(*, keep_last_images: int | None) -> dict | None:
    if not keep_last_images:
        return None
    return {
        "rules": [
            {
                "rulePriority": 1,
                "description": f"Keep the last {keep_last_images} images",
                "selection": {
                    "tagStatus": "any",
                    "countType": "imageCountMoreThan",
                    "countNumber": keep_last_images,
                },
                "action": {"type": "expire"},
            }
        ]
    }


def _compact(document: dict) -> str:
    return json.dumps(document, separators=(",", ":"))


def same_policy(a: dict | None, b: dict | None) -> bool:
    """Compare two policy documents as AWS may return them (order of principals aside)."""
    return _normalise(a) == _normalise(b)


def _normalise(value):
    if isinstance(value, dict):
        # AWS gives a single principal back as a string, several as a list.
        return {
            k: _normalise([v] if k == "AWS" and isinstance(v, str) else v) for k, v in value.items()
        }
    if isinstance(value, list):
        items = [_normalise(v) for v in value]
        return sorted(items, key=repr)
    return value
