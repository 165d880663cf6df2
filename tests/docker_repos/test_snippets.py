"""The CI snippets on a robot's page run as pasted: each is checked against its CI's JSON
schema (Drone 1.x and GitHub Actions: the schemas vendored inside check-jsonschema's
wheel, so no network; Drone 0.8, which has none published: tests/docker_repos/schemas/),
and every shell command in them parses."""

import json
import re
import subprocess
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
from ruamel.yaml import YAML

from docker_repos.snippets import robot_snippets

URI = "123456789012.dkr.ecr.eu-west-2.amazonaws.com/acp/hello-world-app"
VENDORED = resources.files("check_jsonschema.builtin_schemas.vendor")
SCHEMAS = {
    "drone": json.loads((Path(__file__).parent / "schemas" / "drone-0.8.json").read_text()),
    "drone1": json.loads(VENDORED.joinpath("drone-ci.json").read_text()),
    "github": json.loads(VENDORED.joinpath("github-workflows.json").read_text()),
}


@pytest.fixture(scope="module")
def snippets():
    registry, path = URI.split("/", 1)
    return {
        s.key: s
        for s in robot_snippets(
            registry=registry, path=path, region="eu-west-2", robot_name="drone-ci"
        )
    }


def parsed(text: str):
    # YAML 1.2 (as Drone and GitHub read it): `on:` is a key, not `True`.
    return YAML(typ="safe").load(text)


def schema_errors(key: str, document) -> list[str]:
    validator = jsonschema.validators.validator_for(SCHEMAS[key])(SCHEMAS[key])
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator.iter_errors(document)
    ]


@pytest.mark.parametrize("key", ["drone", "drone1", "github"])
def test_each_pipeline_is_valid_for_its_ci(snippets, key):
    assert schema_errors(key, parsed(snippets[key].text)) == []


def test_the_two_drone_formats_are_not_each_other(snippets):
    """0.8 (`pipeline:` map, `secrets:`) and 1.x (`kind: pipeline`, `steps`, `from_secret`)
    are different files: each fails the other's schema."""
    assert schema_errors("drone1", parsed(snippets["drone"].text))
    assert schema_errors("drone", parsed(snippets["drone1"].text))


def test_drone_1_takes_the_robot_credentials_from_secrets(snippets):
    pipeline = parsed(snippets["drone1"].text)
    assert (pipeline["kind"], pipeline["type"]) == ("pipeline", "docker")
    push = next(step for step in pipeline["steps"] if step["name"] == "ecr_push")
    assert push["environment"]["AWS_ACCESS_KEY_ID"] == {"from_secret": "aws_access_key_id"}
    assert push["environment"]["AWS_SECRET_ACCESS_KEY"] == {"from_secret": "aws_secret_access_key"}
    assert push["environment"]["REGISTRY_URL"] == URI.split("/")[0]
    assert (
        push["commands"][-1] == "docker push $${REGISTRY_URL}/acp/hello-world-app:"
        "$${DRONE_COMMIT_SHA}"
    )


def test_the_github_workflow_says_when_it_runs_and_what_its_token_may_do(snippets):
    workflow = parsed(snippets["github"].text)
    assert workflow["on"] == {"push": {"branches": ["main"]}}
    assert workflow["permissions"] == {"contents": "read"}
    env = workflow["jobs"]["push-image"]["env"]
    assert env["AWS_SECRET_ACCESS_KEY"] == "${{ secrets.AWS_SECRET_ACCESS_KEY }}"


def _drone_commands(document) -> list[str]:
    steps = document["pipeline"].values() if "pipeline" in document else document["steps"]
    # `$$` is Drone's escape: the shell sees one `$`.
    return [command.replace("$$", "$") for step in steps for command in step["commands"]]


def _github_commands(document) -> list[str]:
    # `${{ expression }}` is GitHub's, replaced before the shell runs.
    return [
        re.sub(r"\$\{\{[^}]*\}\}", "x", step["run"])
        for job in document["jobs"].values()
        for step in job["steps"]
        if "run" in step
    ]


@pytest.mark.parametrize("key", ["drone", "drone1", "github", "kubernetes"])
def test_every_shell_command_parses(snippets, key):
    text = snippets[key].text
    if key == "kubernetes":
        commands = [text]
    else:
        document = parsed(text)
        commands = _github_commands(document) if key == "github" else _drone_commands(document)
    assert commands
    for command in commands:
        result = subprocess.run(["bash", "-n", "-c", command], capture_output=True, text=True)
        assert result.returncode == 0, f"{command}\n{result.stderr}"
