"""Ready-to-paste CI configuration for a robot account (pure: text in, text out).

The user guide's Drone pipeline used `aws ecr get-login`, which AWS CLI v2 removed; these
use `aws ecr get-login-password | docker login --password-stdin`, which works in v1
(1.17.10 and later) and v2 and keeps the token out of the process list and build logs."""

from dataclasses import dataclass

AWSCLI_IMAGE = "amazon/aws-cli:latest"


@dataclass(frozen=True)
class Snippet:
    key: str
    title: str
    text: str
    note: str = ""


def robot_snippets(*, registry: str, path: str, region: str, robot_name: str) -> list[Snippet]:
    """The snippets for the repository `path` (its full name) in `registry` (the host of
    its URI, DockerRepo.registry) and `region`."""
    repo_uri = f"{registry}/{path}"
    image = path.rsplit("/", 1)[-1]
    secret_name = "ecr-" + image.replace("_", "-").replace(".", "-")
    values = {
        "registry": registry,
        "region": region,
        "path": path,
        "image": image,
        "awscli": AWSCLI_IMAGE,
        "uri": repo_uri,
    }
    return [
        Snippet(
            "drone",
            "Drone CI 0.8 pipeline (.drone.yml, as in the user guide)",
            _DRONE_08.format(**values),
            note=f"Store the robot's access key id and secret as the Drone secrets "
            f"AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY ({robot_name}).",
        ),
        Snippet(
            "drone1",
            "Drone CI 1.x and later pipeline (.drone.yml)",
            _DRONE_1.format(**values),
            note=f"Store the robot's access key id and secret as the Drone secrets "
            f"aws_access_key_id and aws_secret_access_key ({robot_name}).",
        ),
        Snippet(
            "github",
            "GitHub Actions workflow (.github/workflows/ecr-push.yml)",
            _GITHUB.format(**values),
            note="Store the robot's access key id and secret as the repository secrets "
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY. It runs on every push "
            "to main.",
        ),
        Snippet(
            "kubernetes",
            "Kubernetes image pull secret",
            _KUBERNETES.format(registry=registry, region=region, secret_name=secret_name),
            note="Inside the ACP clusters no imagePullSecret is needed: the clusters are "
            "allowed to pull every repository of the hub. Elsewhere, an ECR login "
            "token lasts 12 hours, so a pull secret made from it must be refreshed "
            "(e.g. by a CronJob running the command below with the robot's "
            "credentials).",
        ),
    ]


# `$$` is Drone's escape for a literal `$` (the guide's pipeline uses it too): the shell,
# not Drone, expands those variables.
_DRONE_08 = """\
pipeline:

  build:
    image: docker:18.09.0
    environment:
    - DOCKER_HOST=tcp://172.17.0.1:2375
    commands:
    - docker build -t {image}:$${{DRONE_COMMIT_SHA}} .

  ecr_push:
    image: docker:18.09.0
    secrets:
    - AWS_ACCESS_KEY_ID
    - AWS_SECRET_ACCESS_KEY
    environment:
    - AWS_DEFAULT_REGION={region}
    - AWSCLI_IMAGE={awscli}
    - DOCKER_HOST=tcp://172.17.0.1:2375
    - REGISTRY_URL={registry}
    commands:
    - docker run --rm -e "AWS_ACCESS_KEY_ID=$${{AWS_ACCESS_KEY_ID}}" -e "AWS_SECRET_ACCESS_KEY=$${{AWS_SECRET_ACCESS_KEY}}" -e "AWS_DEFAULT_REGION=$${{AWS_DEFAULT_REGION}}" $${{AWSCLI_IMAGE}} ecr get-login-password | docker login --username AWS --password-stdin $${{REGISTRY_URL}}
    - docker tag {image}:$${{DRONE_COMMIT_SHA}} $${{REGISTRY_URL}}/{path}:$${{DRONE_COMMIT_SHA}}
    - docker push $${{REGISTRY_URL}}/{path}:$${{DRONE_COMMIT_SHA}}
"""  # noqa: E501 - a command line is one line

# Drone 1.x: `kind: pipeline`, a list of `steps`, secrets as `from_secret` environment.
_DRONE_1 = """\
kind: pipeline
type: docker
name: ecr-push

steps:
- name: build
  image: docker:18.09.0
  environment:
    DOCKER_HOST: tcp://172.17.0.1:2375
  commands:
  - docker build -t {image}:$${{DRONE_COMMIT_SHA}} .

- name: ecr_push
  image: docker:18.09.0
  environment:
    AWS_ACCESS_KEY_ID:
      from_secret: aws_access_key_id
    AWS_SECRET_ACCESS_KEY:
      from_secret: aws_secret_access_key
    AWS_DEFAULT_REGION: {region}
    AWSCLI_IMAGE: {awscli}
    DOCKER_HOST: tcp://172.17.0.1:2375
    REGISTRY_URL: {registry}
  commands:
  - docker run --rm -e AWS_ACCESS_KEY_ID -e AWS_SECRET_ACCESS_KEY -e AWS_DEFAULT_REGION $${{AWSCLI_IMAGE}} ecr get-login-password | docker login --username AWS --password-stdin $${{REGISTRY_URL}}
  - docker tag {image}:$${{DRONE_COMMIT_SHA}} $${{REGISTRY_URL}}/{path}:$${{DRONE_COMMIT_SHA}}
  - docker push $${{REGISTRY_URL}}/{path}:$${{DRONE_COMMIT_SHA}}
"""  # noqa: E501 - a command line is one line

# A whole workflow file: when it runs (`on:`) and the least the job's token needs.
_GITHUB = """\
name: Push to ECR
on:
  push:
    branches: [main]
permissions:
  contents: read
jobs:
  push-image:
    runs-on: ubuntu-latest
    env:
      AWS_ACCESS_KEY_ID: ${{{{ secrets.AWS_ACCESS_KEY_ID }}}}
      AWS_SECRET_ACCESS_KEY: ${{{{ secrets.AWS_SECRET_ACCESS_KEY }}}}
      AWS_DEFAULT_REGION: {region}
    steps:
      - uses: actions/checkout@v4
      - name: Log in to ECR
        run: aws ecr get-login-password | docker login --username AWS --password-stdin {registry}
      - name: Build and push
        run: |
          docker build -t {uri}:${{{{ github.sha }}}} .
          docker push {uri}:${{{{ github.sha }}}}
"""

_KUBERNETES = """\
kubectl create secret docker-registry {secret_name} \\
  --docker-server={registry} \\
  --docker-username=AWS \\
  --docker-password="$(aws ecr get-login-password --region {region})" \\
  --dry-run=client -o yaml | kubectl apply -f -
# then, in the pod spec:
#   imagePullSecrets:
#   - name: {secret_name}
"""
