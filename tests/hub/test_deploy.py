"""Deployment: production settings, docker-compose.yml, the Dockerfile and the hub's own
AWS policy. The settings are loaded in a subprocess, as `manage.py` would load them in
production, so this test run's development settings are not disturbed."""

import json
import os
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from cryptography.fernet import Fernet
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
BOUNDARY = "arn:aws:iam::123456789012:policy/platform-hub-user-boundary"
SECRET_KEY = "prod-test-" + "k3y-" * 15  # 70 characters, varied enough for check --deploy


def _production_env(tmp_path: Path, **overrides: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(
        {
            "HUB_ENV": "production",
            "HUB_VAR_DIR": str(tmp_path / "var"),
            "SECRET_KEY": SECRET_KEY,
            "HUB_FERNET_KEYS": Fernet.generate_key().decode(),
            "ALLOWED_HOSTS": "hub.example.com",
            "HUB_IAM_PERMISSIONS_BOUNDARY": BOUNDARY,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'deploy.sqlite3'}",
            "CELERY_BROKER_URL": "redis://localhost:6379/0",  # never contacted by `check`
            "DJANGO_SETTINGS_MODULE": "hub.settings",
        }
    )
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def _manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


# --- manage.py check --deploy ----------------------------------------------------------


def test_check_deploy_is_clean_in_production(tmp_path):
    result = _manage(_production_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in output, output
    assert "WARNINGS" not in output, output


@pytest.mark.parametrize(
    "name", ["SECRET_KEY", "HUB_FERNET_KEYS", "ALLOWED_HOSTS", "HUB_IAM_PERMISSIONS_BOUNDARY"]
)
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


@pytest.mark.parametrize(
    "principals",
    [
        "*",
        "123456789012",
        "arn:aws:iam::123456789012:root",
        "arn:aws:iam::*:role/nodes",
        "arn:aws:iam::123456789012:role/nodes,*",
    ],
)
def test_pull_principals_must_be_full_role_or_user_arns(tmp_path, principals):
    result = _manage(_production_env(tmp_path, HUB_ECR_PULL_PRINCIPALS=principals), "check")
    assert result.returncode != 0
    assert (
        "HUB_ECR_PULL_PRINCIPALS: every entry must be the full ARN of an IAM role or "
        "user" in result.stderr
    )


def test_pull_principals_accept_roles_and_users(tmp_path):
    principals = "arn:aws:iam::123456789012:role/eks/nodes,arn:aws:iam::123456789012:user/ci-puller"
    result = _manage(_production_env(tmp_path, HUB_ECR_PULL_PRINCIPALS=principals), "check")
    assert result.returncode == 0, result.stderr


def test_the_boundary_must_be_a_managed_policy_arn(tmp_path):
    result = _manage(_production_env(tmp_path, HUB_IAM_PERMISSIONS_BOUNDARY="boundary"), "check")
    assert result.returncode != 0
    assert "HUB_IAM_PERMISSIONS_BOUNDARY must be the ARN of a managed IAM policy" in result.stderr


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


def test_compose_processes_share_the_production_environment(compose):
    services = compose["services"]
    envs = [services[name]["environment"] for name in APP_SERVICES]
    for env in envs:
        assert env["HUB_ENV"] == "production"
        assert env == envs[0]  # one x-hub-env for every process
    env = envs[0]
    assert (
        env["DATABASE_URL"].startswith("postgres://") and "@postgres:5432/" in env["DATABASE_URL"]
    )
    assert env["CELERY_BROKER_URL"].startswith("redis://redis:6379/")
    for secret in ("SECRET_KEY", "HUB_FERNET_KEYS", "HUB_IAM_PERMISSIONS_BOUNDARY"):
        assert re.fullmatch(rf"\$\{{{secret}:\?.+\}}", env[secret]), secret
    with pytest.raises(LookupError, match="SECRET_KEY"):
        _container_env(services["web"], {"HUB_FERNET_KEYS": "x"})


# Read by the hub but not a deployment's choice: the image's own paths, and `make run`'s.
# Development only (make run), or where the image and its volumes live.
NOT_DEPLOYMENT_SETTINGS = {"HUB_VAR_DIR", "HUB_STATIC_ROOT", "HUB_USE_REAL_AWS", "HUB_DEV_ENV"}


def documented_settings() -> set[str]:
    """Every setting the README's Configuration table names, and every one that
    hub/settings.py reads (so a new setting cannot be forgotten in either place)."""
    table = (ROOT / "README.md").read_text().split("\n## Configuration", 1)[1].split("\n## ", 1)[0]
    names = set()
    for line in table.splitlines():
        if line.startswith("| `"):
            names |= set(re.findall(r"`([A-Z][A-Z0-9_]+)`", line.split("|")[1]))
    settings = (ROOT / "hub" / "settings.py").read_text()
    read = set(
        re.findall(
            r'(?:environ\.get|env\.\w+|env_list|_required)\(\s*"([A-Z][A-Z0-9_]+)"', settings
        )
    )
    read |= set(re.findall(r'environ\["([A-Z][A-Z0-9_]+)"\]', settings))
    undocumented = read - names
    assert not undocumented, f"read by hub/settings.py, not in README: {sorted(undocumented)}"
    return names - NOT_DEPLOYMENT_SETTINGS


def test_compose_passes_every_documented_setting(compose):
    env = compose["x-hub-env"]
    missing = documented_settings() - set(env)
    assert not missing, f"docker-compose.yml does not pass {sorted(missing)}"
    for name, value in env.items():
        # A fixed value or ${NAME...} of its own name, so a shell or .env value wins.
        assert (
            value is None
            or name in ("HUB_ENV", "DATABASE_URL", "CELERY_BROKER_URL", "HUB_CACHE_URL")
            or re.fullmatch(rf"\$\{{{name}(:[-?].*)?\}}", str(value))
        ), name


def _seconds(duration: str) -> int:
    match = re.fullmatch(r"(?:(\d+)m)?(?:(\d+)s)?", duration)
    assert match and duration, duration
    return int(match[1] or 0) * 60 + int(match[2] or 0)


def test_compose_waits_longer_than_gunicorns_graceful_timeout(compose):
    # Not at the top: importing it sets PROMETHEUS_MULTIPROC_DIR in this process, which at
    # collection would hide the in-memory metrics of the /metrics tests collected after it.
    from hub import gunicorn_conf  # noqa: PLC0415

    for name in APP_SERVICES:
        grace = compose["services"][name].get("stop_grace_period")
        assert grace, f"{name}: compose's default 10 s cuts gunicorn's graceful shutdown"
        assert _seconds(grace) > gunicorn_conf.graceful_timeout, name


def test_compose_migrates_first_and_runs_beat_once(compose):
    services = compose["services"]
    for name in ("web", "worker", "beat"):
        assert (
            services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        ), name
    assert services["beat"]["deploy"]["replicas"] == 1
    assert "replicas" not in services["worker"].get("deploy", {})  # scale freely


def test_compose_health_checks(compose):
    services = compose["services"]
    assert "healthcheck" not in services["web"]  # the image's: GET /livez
    for name in ("worker", "beat"):
        assert services[name]["healthcheck"]["test"] == [
            "CMD",
            "python",
            "manage.py",
            "hub_probe",
            name,
        ], name
    assert services["migrate"]["healthcheck"] == {"disable": True}  # one-shot


def test_compose_environment_satisfies_production_settings(compose, tmp_path):
    """The web container's environment, as compose would build it, loads the production
    settings; the only deploy warning is the SSL redirect it turns off for local http."""
    shell = {
        "SECRET_KEY": SECRET_KEY,
        "HUB_FERNET_KEYS": Fernet.generate_key().decode(),
        "HUB_IAM_PERMISSIONS_BOUNDARY": BOUNDARY,
    }
    container = _container_env(compose["services"]["web"], shell)
    assert container["HUB_SSL_REDIRECT"] == "0"
    assert "AWS_ACCESS_KEY_ID" not in container  # unset in the shell: not passed as ""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("HUB_", "AWS_", "DATABASE_", "CELERY_"))
    }
    env.update(container, HUB_VAR_DIR=str(tmp_path / "var"))
    result = _manage(env, "check", "--deploy")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    warnings = set(re.findall(r"\((security\.\w+)\)", output))
    assert warnings == {"security.W008"}, output


# --- Dockerfile ------------------------------------------------------------------------

CODE_DIRS = ("hub", "projects", "identities", "docker_repos", "templates", "static")


def _dockerfile_instructions() -> list[str]:
    text = (ROOT / "Dockerfile").read_text()
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    return [i.strip() for i in re.sub(r"\\\n", " ", "\n".join(lines)).splitlines() if i.strip()]


def _dockerfile_env() -> dict[str, str]:
    """The image's ENV, as every container starts with it."""
    env = {}
    for instruction in _dockerfile_instructions():
        if instruction.startswith("ENV "):
            env.update(w.split("=", 1) for w in shlex.split(instruction[len("ENV ") :]))
    return env


def test_dockerfile_build_step_loads_production_settings(tmp_path):
    """collectstatic runs at build time with inline build-only secrets: they must be
    enough for the production settings (a new required variable must be added there)."""
    instructions = _dockerfile_instructions()
    assert instructions[0] == "FROM python:3.11-slim"
    run = next(i for i in instructions if i.startswith("RUN ") and "collectstatic" in i)
    words = shlex.split(run[len("RUN ") :])
    build_env = dict(w.split("=", 1) for w in words[: words.index("python")])
    assert build_env["HUB_ENV"] == "production"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.pop("SECRET_KEY", None)
    env.update(build_env, HUB_VAR_DIR=str(tmp_path / "var"))
    result = _manage(env, "check")
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_runs_as_a_numeric_non_root_user():
    users = [i for i in _dockerfile_instructions() if i.startswith("USER ")]
    assert users == ["USER 10001:10001"]  # Kubernetes' runAsNonRoot needs numbers
    static_root = _dockerfile_env()["HUB_STATIC_ROOT"]
    var_dir = _dockerfile_env()["HUB_VAR_DIR"]
    # The static files must not be hidden by the volume a pod mounts on HUB_VAR_DIR.
    assert not static_root.startswith(var_dir.rstrip("/") + "/")


def test_dockerfile_installs_the_locked_dependencies_before_the_code():
    instructions = _dockerfile_instructions()
    locked = next(
        n
        for n, i in enumerate(instructions)
        if i.startswith("RUN pip install") and "-r requirements/lock.txt" in i
    )
    assert "--require-hashes" in instructions[locked]
    copies = [n for n, i in enumerate(instructions) if i.startswith("COPY ")]
    assert instructions[copies[0]] == "COPY requirements/lock.txt requirements/lock.txt"
    code = [n for n in copies if instructions[n].split()[1] in CODE_DIRS]
    assert code and min(code) > locked, "editing the code must not reinstall dependencies"
    project = [i for i in instructions if i.startswith("RUN pip install") and " . " in i + " "]
    assert len(project) == 1 and "--no-deps" in project[0], project


def test_dockerfile_healthcheck_and_command():
    instructions = _dockerfile_instructions()
    assert "EXPOSE 8000" in instructions
    healthcheck = next(i for i in instructions if i.startswith("HEALTHCHECK "))
    command = json.loads(healthcheck[healthcheck.index("CMD ") + 4 :])
    assert command[:2] == ["python", "-c"] and "http://127.0.0.1:8000/livez" in command[2]
    assert "Host" not in command[2]  # /livez answers whatever the Host header
    compile(command[2], "HEALTHCHECK", "exec")
    cmd = json.loads(next(i for i in instructions if i.startswith("CMD "))[4:])
    assert cmd == ["gunicorn", "-c", "python:hub.gunicorn_conf", "hub.wsgi:application"]


def test_gunicorn_reads_its_settings_from_hub_gunicorn_conf():
    result = subprocess.run(
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "-c",
            "python:hub.gunicorn_conf",
            "--print-config",
            "hub.wsgi:application",
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    config = dict(re.findall(r"^(\w+)\s+= (.*)$", result.stdout, re.M))
    assert config["bind"] == "['0.0.0.0:8000']"
    assert config["graceful_timeout"] == "30" and config["timeout"] == "60"
    assert config["worker_tmp_dir"] == "/dev/shm"
    assert config["accesslog"] == "-" and config["errorlog"] == "-"


# --- Lock files --------------------------------------------------------------------------


def _locked(path: Path) -> dict[str, tuple[str, int]]:
    """name -> (version, number of hashes) of a `make lock` file."""
    text = (ROOT / path).read_text()
    pins = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        match = re.match(r"([A-Za-z0-9][\w.-]*)==([^\s;\\]+)", block)
        if match:
            pins[canonicalize_name(match[1])] = (match[2], block.count("--hash=sha256:"))
    return pins


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


@pytest.mark.parametrize(
    ("lock", "groups"),
    [
        ("requirements/lock.txt", ()),
        ("requirements/dev-lock.txt", ("dev", "e2e")),
    ],
)
def test_lock_files_pin_every_dependency_of_pyproject_with_hashes(lock, groups):
    """Out of step after a pyproject.toml change? Run `make lock`."""
    project = _pyproject()
    wanted = [Requirement(r) for r in project["project"]["dependencies"]]
    for group in groups:
        wanted += [Requirement(r) for r in project["project"]["optional-dependencies"][group]]
    wanted += [Requirement(r) for r in project["build-system"]["requires"]]
    pins = _locked(Path(lock))
    for requirement in wanted:
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement} is not in {lock}: run `make lock`"
        version, hashes = pins[name]
        assert requirement.specifier.contains(version, prereleases=True), (
            f"{lock} pins {name}=={version}, pyproject.toml wants {requirement}: run `make lock`"
        )
    assert all(hashes for _, hashes in pins.values()), f"{lock}: a pin without a hash"


def test_the_runtime_lock_holds_runtime_dependencies_only_and_agrees_with_the_dev_lock():
    runtime, dev = (
        _locked(Path("requirements/lock.txt")),
        _locked(Path("requirements/dev-lock.txt")),
    )
    assert "pytest" not in runtime and "moto" not in runtime and "playwright" not in runtime
    assert {name: pin[0] for name, pin in runtime.items()} == {
        name: dev[name][0] for name in runtime if name in dev
    }
    assert set(runtime) <= set(dev)


def test_make_install_installs_from_the_dev_lock_with_hashes():
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("$(STAMP): ", 1)[1].split("\n\n", 1)[0]
    assert "--require-hashes -r $(DEV_LOCK)" in recipe
    assert "DEV_LOCK := requirements/dev-lock.txt" in makefile
    assert "--no-deps" in recipe.split("-r $(DEV_LOCK)", 1)[1]  # the project, nothing more
    assert "'.[dev" not in makefile  # no unpinned install of the extras


# aws/hub-policy.json and aws/user-boundary.json: tests/hub/test_aws_policy.py.
