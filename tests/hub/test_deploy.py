"""Deployment: production settings, docker-compose.yml, the Dockerfile and the hub's own
AWS policy. The settings are loaded in a subprocess, as `manage.py` would load them in
production, so this test run's development settings are not disturbed."""

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]
BOUNDARY = "arn:aws:iam::123456789012:policy/platform-hub-user-boundary"
SECRET_KEY = "prod-test-" + "k3y-" * 15  # 70 characters, varied enough for check --deploy


def _production_env(tmp_path: Path, **overrides: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update({
        "HUB_ENV": "production",
        "HUB_VAR_DIR": str(tmp_path / "var"),
        "SECRET_KEY": SECRET_KEY,
        "HUB_FERNET_KEYS": Fernet.generate_key().decode(),
        "ALLOWED_HOSTS": "hub.example.com",
        "HUB_IAM_PERMISSIONS_BOUNDARY": BOUNDARY,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'deploy.sqlite3'}",
        "CELERY_BROKER_URL": "redis://localhost:6379/0",  # never contacted by `check`
        "DJANGO_SETTINGS_MODULE": "hub.settings",
    })
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def _manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )


# --- manage.py check --deploy ----------------------------------------------------------

def test_check_deploy_is_clean_in_production(tmp_path):
    result = _manage(_production_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in output, output
    assert "WARNINGS" not in output, output


@pytest.mark.parametrize("name", ["SECRET_KEY", "HUB_FERNET_KEYS", "ALLOWED_HOSTS",
                                  "HUB_IAM_PERMISSIONS_BOUNDARY"])
def test_production_refuses_to_start_without_a_required_setting(tmp_path, name):
    result = _manage(_production_env(tmp_path, **{name: None}), "check")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert f"{name} must be set when HUB_ENV=production" in result.stderr


def test_production_refuses_a_malformed_fernet_key(tmp_path):
    keys = f"{Fernet.generate_key().decode()},not-a-fernet-key"
    result = _manage(_production_env(tmp_path, HUB_FERNET_KEYS=keys), "check")
    assert result.returncode != 0
    assert "HUB_FERNET_KEYS: key 2 is not a Fernet key" in result.stderr
    assert "not-a-fernet-key" not in result.stderr  # a key is a secret: never echo it


@pytest.mark.parametrize("principals", [
    "*", "123456789012", "arn:aws:iam::123456789012:root", "arn:aws:iam::*:role/nodes",
    "arn:aws:iam::123456789012:role/nodes,*",
])
def test_pull_principals_must_be_full_role_or_user_arns(tmp_path, principals):
    result = _manage(_production_env(tmp_path, HUB_ECR_PULL_PRINCIPALS=principals), "check")
    assert result.returncode != 0
    assert "HUB_ECR_PULL_PRINCIPALS: every entry must be the full ARN of an IAM role or " \
           "user" in result.stderr


def test_pull_principals_accept_roles_and_users(tmp_path):
    principals = ("arn:aws:iam::123456789012:role/eks/nodes,"
                  "arn:aws:iam::123456789012:user/ci-puller")
    result = _manage(_production_env(tmp_path, HUB_ECR_PULL_PRINCIPALS=principals), "check")
    assert result.returncode == 0, result.stderr


def test_the_boundary_must_be_a_managed_policy_arn(tmp_path):
    result = _manage(_production_env(tmp_path, HUB_IAM_PERMISSIONS_BOUNDARY="boundary"),
                     "check")
    assert result.returncode != 0
    assert "HUB_IAM_PERMISSIONS_BOUNDARY must be the ARN of a managed IAM policy" \
        in result.stderr


# --- docker-compose.yml ----------------------------------------------------------------

APP_SERVICES = ("migrate", "web", "worker", "beat")
INTERPOLATION = re.compile(r"\$\{(?P<name>\w+)(?::(?P<op>[-?])(?P<arg>[^}]*))?\}")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _interpolate(value: str, shell: dict[str, str]) -> str:
    """What `docker compose` makes of ${NAME}, ${NAME:-default} and ${NAME:?error}."""

    def replace(match: re.Match) -> str:
        name, op, arg = match["name"], match["op"], match["arg"]
        if shell.get(name):
            return shell[name]
        if op == "?":
            raise LookupError(f"{name}: {arg}")
        return arg if op == "-" else ""

    return INTERPOLATION.sub(replace, value)


def _container_env(service: dict, shell: dict[str, str]) -> dict[str, str]:
    env = {}
    for name, value in service["environment"].items():
        if value is None:  # no value: passed through from the shell only when set there
            if shell.get(name):
                env[name] = shell[name]
        else:
            env[name] = _interpolate(str(value), shell)
    return env


def test_compose_runs_every_process(compose):
    services = compose["services"]
    for name in ("postgres", "redis", "migrate", "web", "worker", "beat"):
        assert name in services, name
    assert services["postgres"]["image"].startswith("postgres:16")
    assert services["redis"]["image"].startswith("redis:7")
    assert "healthcheck" in services["postgres"] and "healthcheck" in services["redis"]
    assert services["migrate"]["command"][-2:] == ["migrate", "--noinput"]
    assert services["migrate"]["restart"] == "no"  # one-shot: never restarted after success
    assert services["worker"]["command"][:4] == ["celery", "-A", "hub", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "hub", "beat"]
    web_deps = services["web"]["depends_on"]
    assert web_deps["migrate"]["condition"] == "service_completed_successfully"
    assert web_deps["postgres"]["condition"] == "service_healthy"
    assert web_deps["redis"]["condition"] == "service_healthy"
    assert "8000:8000" in services["web"]["ports"]
    # The image's HEALTHCHECK asks gunicorn; the processes without it must opt out.
    for name in ("migrate", "worker", "beat"):
        assert services[name]["healthcheck"] == {"disable": True}, name


def test_compose_processes_share_the_production_environment(compose):
    services = compose["services"]
    envs = [services[name]["environment"] for name in APP_SERVICES]
    for env in envs:
        assert env["HUB_ENV"] == "production"
        assert env == envs[0]  # one x-hub-env for every process
    env = envs[0]
    assert env["DATABASE_URL"].startswith("postgres://") and "@postgres:5432/" in env[
        "DATABASE_URL"]
    assert env["CELERY_BROKER_URL"].startswith("redis://redis:6379/")
    for secret in ("SECRET_KEY", "HUB_FERNET_KEYS", "HUB_IAM_PERMISSIONS_BOUNDARY"):
        assert re.fullmatch(rf"\$\{{{secret}:\?.+\}}", env[secret]), secret
    with pytest.raises(LookupError, match="SECRET_KEY"):
        _container_env(services["web"], {"HUB_FERNET_KEYS": "x"})


def test_compose_environment_satisfies_production_settings(compose, tmp_path):
    """The web container's environment, as compose would build it, loads the production
    settings; the only deploy warning is the SSL redirect it turns off for local http."""
    shell = {"SECRET_KEY": SECRET_KEY, "HUB_FERNET_KEYS": Fernet.generate_key().decode(),
             "HUB_IAM_PERMISSIONS_BOUNDARY": BOUNDARY}
    container = _container_env(compose["services"]["web"], shell)
    assert container["HUB_SSL_REDIRECT"] == "0"
    assert "AWS_ACCESS_KEY_ID" not in container  # unset in the shell: not passed as ""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("HUB_", "AWS_", "DATABASE_", "CELERY_"))}
    env.update(container, HUB_VAR_DIR=str(tmp_path / "var"))
    result = _manage(env, "check", "--deploy")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    warnings = set(re.findall(r"\((security\.\w+)\)", output))
    assert warnings == {"security.W008"}, output


# --- Dockerfile ------------------------------------------------------------------------

def _dockerfile_instructions() -> list[str]:
    text = (ROOT / "Dockerfile").read_text()
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    return [i.strip() for i in re.sub(r"\\\n", " ", "\n".join(lines)).splitlines() if i.strip()]


def test_dockerfile_build_step_loads_production_settings(tmp_path):
    """collectstatic runs at build time with inline build-only secrets: they must be
    enough for the production settings (a new required variable must be added there)."""
    instructions = _dockerfile_instructions()
    assert instructions[0] == "FROM python:3.11-slim"
    assert any(i.startswith("USER ") and "root" not in i for i in instructions)
    run = next(i for i in instructions if i.startswith("RUN ") and "collectstatic" in i)
    words = shlex.split(run[len("RUN "):])
    build_env = dict(w.split("=", 1) for w in words[:words.index("python")])
    assert build_env["HUB_ENV"] == "production"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.pop("SECRET_KEY", None)
    env.update(build_env, HUB_VAR_DIR=str(tmp_path / "var"))
    result = _manage(env, "check")
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_healthcheck_and_command():
    instructions = _dockerfile_instructions()
    assert "EXPOSE 8000" in instructions
    healthcheck = next(i for i in instructions if i.startswith("HEALTHCHECK "))
    command = json.loads(healthcheck[healthcheck.index("CMD ") + 4:])
    assert command[:2] == ["python", "-c"] and "/healthz" in command[2]
    compile(command[2], "HEALTHCHECK", "exec")
    cmd = json.loads(next(i for i in instructions if i.startswith("CMD "))[4:])
    assert cmd[:2] == ["gunicorn", "hub.wsgi:application"]
    assert "0.0.0.0:8000" in cmd

# aws/hub-policy.json and aws/user-boundary.json: tests/hub/test_aws_policy.py.
