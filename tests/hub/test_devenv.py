"""One development configuration: `make run` records its settings in var/dev.env, and
manage.py in another terminal uses them (the same database and the local AWS stand-in,
never real AWS), while tests and production never read the file."""

import os
import subprocess
import sys

import pytest

from hub import devenv, devserver
from tests.hub.test_worker_processes import production_env
from tests.procs import ROOT, bin_path, free_port, start_aws, stop

PRINT_SETTINGS = (
    "from django.conf import settings; "
    "print('DB', settings.DATABASES['default']['NAME']); "
    "print('AWS', settings.AWS_ENDPOINT_URL or 'real')"
)


def second_terminal(tmp_path, **extra) -> dict[str, str]:
    """A developer's shell: no hub settings, no AWS settings, real-looking AWS credentials
    in ~/.aws, and not a test run."""
    home = tmp_path / "home"
    (home / ".aws").mkdir(parents=True, exist_ok=True)
    (home / ".aws" / "credentials").write_text(
        "[default]\naws_access_key_id = AKIAREALREALREALREAL\n"
        "aws_secret_access_key = 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\n"
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("HUB_", "AWS_", "CELERY_", "DATABASE_", "PYTEST_", "DJANGO_"))
    }
    env.update({"HOME": str(home), "HUB_VAR_DIR": str(tmp_path / "var")})
    env.update(extra)
    return env


def manage(env, *args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def recorded(tmp_path, aws_port: int, **environ) -> dict[str, str]:
    env = {"HUB_VAR_DIR": str(tmp_path / "var"), **environ}
    values = devserver.development_settings(env, aws_port=aws_port)
    devenv.write(values, var_dir=tmp_path / "var")
    return values


def test_make_run_records_dummy_credentials_never_real_ones(tmp_path):
    values = recorded(
        tmp_path,
        5999,
        AWS_ACCESS_KEY_ID="AKIAREALREALREALREAL",
        AWS_SECRET_ACCESS_KEY="realSecretKeyOfARealAccount/DoNotUse1234",
    )
    text = (tmp_path / "var" / "dev.env").read_text()
    assert "AKIAREAL" not in text and "realSecret" not in text
    assert values["AWS_ENDPOINT_URL"] == "http://127.0.0.1:5999"
    assert values["AWS_ACCESS_KEY_ID"] == "testing"
    assert values["DATABASE_URL"] == f"sqlite:///{tmp_path / 'var' / 'hub.sqlite3'}"
    assert devenv.read(tmp_path / "var" / "dev.env") == values
    assert oct((tmp_path / "var" / "dev.env").stat().st_mode & 0o777) == "0o600"


def test_with_real_aws_no_credentials_are_recorded(tmp_path):
    values = recorded(
        tmp_path,
        5999,
        HUB_USE_REAL_AWS="1",
        AWS_ACCESS_KEY_ID="AKIAREAL",
        AWS_SECRET_ACCESS_KEY="realSecret",
    )
    assert values["HUB_USE_REAL_AWS"] == "1"
    assert not {"AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} & set(values)


def test_load_sets_only_what_is_missing_and_only_known_names(tmp_path):
    var = tmp_path / "var"
    devenv.write(
        {"DATABASE_URL": "sqlite:////x.sqlite3", "AWS_ENDPOINT_URL": "http://m:1"}, var_dir=var
    )
    with open(var / "dev.env", "a") as file:
        file.write("AWS_PROFILE=production-admin\nSECRET_KEY=from-the-file\n")
    environ = {"HUB_VAR_DIR": str(var), "DATABASE_URL": "postgres://mine/db"}
    assert devenv.load(environ) == ["AWS_ENDPOINT_URL"]
    assert environ == {
        "HUB_VAR_DIR": str(var),
        "DATABASE_URL": "postgres://mine/db",
        "AWS_ENDPOINT_URL": "http://m:1",
    }


@pytest.mark.parametrize(
    "marker",
    [
        {"HUB_ENV": "production"},
        {"PYTEST_VERSION": "9"},
        {"PYTEST_CURRENT_TEST": "x"},
        {"HUB_DEV_ENV": "0"},
    ],
)
def test_never_loaded_in_production_tests_or_when_turned_off(tmp_path, marker):
    devenv.write({"DATABASE_URL": "sqlite:////x.sqlite3"}, var_dir=tmp_path)
    environ = {"HUB_VAR_DIR": str(tmp_path), **marker}
    assert devenv.load(environ) == []
    assert "DATABASE_URL" not in environ


def test_this_test_run_does_not_read_it():
    """pytest itself marks the environment every process of the run inherits."""
    assert devenv.refused(os.environ) == "inside a test run"


def test_a_second_terminal_uses_make_runs_settings(tmp_path):
    aws_port = free_port()
    values = recorded(tmp_path, aws_port)
    moto = start_aws(aws_port, log_dir=tmp_path)
    try:
        env = second_terminal(tmp_path)
        result = manage(env, "shell", "-c", PRINT_SETTINGS)
        assert result.returncode == 0, result.stderr
        assert f"DB {tmp_path / 'var' / 'hub.sqlite3'}" in result.stdout
        assert f"AWS http://127.0.0.1:{aws_port}" in result.stdout
        assert "settings of `make run`" in result.stderr  # it says where they came from

        assert manage(env, "migrate", "-v", "0").returncode == 0
        result = manage(env, "hub_reconcile", "--dry-run")
        assert result.returncode == 0, result.stdout + result.stderr
        assert "0 active repositories checked, 0 changes planned." in result.stdout
        # It asked the stand-in (IAM's user list), with the dummy credentials.
        assert "ListUsers" in moto.log() or "POST / HTTP" in moto.log(), moto.log()
        assert values["AWS_ACCESS_KEY_ID"] == "testing"
    finally:
        stop(moto)


def poisoned_dev_env(tmp_path) -> None:
    """A developer's var/dev.env whose every value would show if it were read."""
    devenv.write(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'from-dev-env.sqlite3'}",
            "AWS_ENDPOINT_URL": "http://127.0.0.1:1",
        },
        var_dir=tmp_path / "var",
    )


def test_processes_of_a_test_run_ignore_it(tmp_path):
    poisoned_dev_env(tmp_path)
    env = second_terminal(tmp_path, PYTEST_VERSION="9")
    result = manage(env, "shell", "-c", PRINT_SETTINGS)
    assert result.returncode == 0, result.stderr
    assert "from-dev-env" not in result.stdout and "AWS real" in result.stdout
    assert "settings of `make run`" not in result.stderr


def test_production_ignores_it(tmp_path):
    poisoned_dev_env(tmp_path)
    env = {k: v for k, v in production_env(tmp_path).items() if not k.startswith("PYTEST_")}
    env.pop("DATABASE_URL")
    result = manage(env, "shell", "-c", PRINT_SETTINGS)
    assert result.returncode == 0, result.stderr
    assert "from-dev-env" not in result.stdout and "AWS real" in result.stdout


def test_celery_in_a_second_terminal_uses_them_too(tmp_path):
    devenv.write({"CELERY_BROKER_URL": "redis://127.0.0.1:1/9"}, var_dir=tmp_path / "var")
    result = subprocess.run(
        [bin_path("celery"), "-A", "hub", "report"],
        cwd=ROOT,
        env=second_terminal(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "CELERY_BROKER_URL: 'redis://127.0.0.1:1/9'" in result.stdout, result.stderr
