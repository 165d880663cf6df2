"""Settings from the environment (hub/env.py, django-environ made strict): a typo or a bad
number stops the start with an error naming the variable and what it accepts, never a
silent "off" or a bare ValueError. Each case loads hub.settings in a fresh process, as
`manage.py` would, with HUB_VAR_DIR in the test's own directory."""

import json
import os
import stat
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet

from hub import settings as hub_settings
from tests.procs import ROOT

NAMES = (
    "DEBUG",
    "HUB_LOCAL_SIGNIN",
    "HUB_LOCAL_SIGNUP",
    "EMAIL_USE_TLS",
    "EMAIL_PORT",
    "HUB_RECONCILE_THREADS",
    "HUB_TASK_MAX_RETRIES",
    "HUB_TASK_RETRY_BASE",
    "HUB_AWS_READ_TIMEOUT",
)


def load(tmp_path, **env: str) -> subprocess.CompletedProcess:
    """hub.settings loaded with `env` on top of a development environment; prints the
    settings of NAMES as JSON."""
    code = (
        "import json, hub.settings as s; "
        f"print(json.dumps({{n: getattr(s, n, None) for n in {NAMES!r}}}))"
    )
    environ = (
        {k: v for k, v in os.environ.items() if not k.startswith(("HUB_", "EMAIL_"))}
        | {"HUB_VAR_DIR": str(tmp_path / "var"), "DJANGO_SETTINGS_MODULE": "hub.settings"}
        | env
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        env=environ,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )


def loaded(tmp_path, **env: str) -> dict:
    done = load(tmp_path, **env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def refused(tmp_path, **env: str) -> str:
    """The last line of the error a start with `env` fails with."""
    done = load(tmp_path, **env)
    assert done.returncode != 0, done.stdout
    return done.stderr.strip().splitlines()[-1]


def test_the_defaults_are_unchanged(tmp_path):
    values = loaded(tmp_path)
    assert values == {
        "DEBUG": False,
        "HUB_LOCAL_SIGNIN": True,
        "HUB_LOCAL_SIGNUP": True,
        "EMAIL_USE_TLS": None,
        "EMAIL_PORT": None,  # SMTP settings only with EMAIL_HOST
        "HUB_RECONCILE_THREADS": 8,
        "HUB_TASK_MAX_RETRIES": 6,
        "HUB_TASK_RETRY_BASE": 2.0,
        "HUB_AWS_READ_TIMEOUT": 10.0,
    }
    assert isinstance(values["HUB_TASK_RETRY_BASE"], float)


def test_every_accepted_spelling_of_yes_and_no(tmp_path):
    for word, expected in [
        ("1", True),
        ("true", True),
        ("YES", True),
        (" on ", True),
        ("0", False),
        ("False", False),
        ("no", False),
        ("off", False),
    ]:
        assert loaded(tmp_path, HUB_DEBUG=word)["DEBUG"] is expected, word


def test_set_but_empty_is_the_default(tmp_path):
    values = loaded(tmp_path, HUB_LOCAL_SIGNIN="", HUB_RECONCILE_THREADS=" ")
    assert values["HUB_LOCAL_SIGNIN"] is True and values["HUB_RECONCILE_THREADS"] == 8


def test_numbers_are_read(tmp_path):
    values = loaded(
        tmp_path,
        HUB_RECONCILE_THREADS="3",
        HUB_TASK_RETRY_BASE="0.2",
        EMAIL_HOST="smtp.example.com",
        EMAIL_PORT="587",
        EMAIL_USE_TLS="yes",
    )
    assert (values["HUB_RECONCILE_THREADS"], values["HUB_TASK_RETRY_BASE"]) == (3, 0.2)
    assert (values["EMAIL_PORT"], values["EMAIL_USE_TLS"]) == (587, True)


@pytest.mark.parametrize("name", ["HUB_DEBUG", "HUB_LOCAL_SIGNIN", "EMAIL_USE_TLS"])
def test_a_typo_in_a_yes_no_setting_stops_the_start(tmp_path, name):
    error = refused(tmp_path, **{name: "ture", "EMAIL_HOST": "smtp.example.com"})
    assert error == (
        f"django.core.exceptions.ImproperlyConfigured: {name}='ture' is not "
        "valid: it must be one of 1, true, yes, on (on) or 0, false, no, off "
        "(off)"
    )


@pytest.mark.parametrize(
    ("name", "value", "accepted"),
    [
        ("HUB_RECONCILE_THREADS", "eight", "a whole number"),
        ("HUB_TASK_MAX_RETRIES", "2.5", "a whole number"),
        ("HUB_DB_CONN_MAX_AGE", "60s", "a whole number"),
        # django-environ alone would read "3s" as 3.0 (it keeps the digits of any value).
        ("HUB_TASK_RETRY_BASE", "3s", "a number"),
        ("HUB_AWS_READ_TIMEOUT", "ten", "a number"),
    ],
)
def test_a_bad_number_stops_the_start_naming_the_variable(tmp_path, name, value, accepted):
    error = refused(tmp_path, **{name: value})
    assert error == (
        f"django.core.exceptions.ImproperlyConfigured: {name}={value!r} is not "
        f"valid: it must be {accepted}"
    )


def test_a_bad_number_in_production_settings_stops_the_start(tmp_path):
    error = refused(
        tmp_path,
        HUB_ENV="production",
        SECRET_KEY="k" * 60,
        HUB_FERNET_KEYS=Fernet.generate_key().decode(),
        ALLOWED_HOSTS="hub.example.com",
        HUB_IAM_PERMISSIONS_BOUNDARY="arn:aws:iam::123456789012:policy/b",
        HUB_HSTS_SECONDS="a year",
    )
    assert error == (
        "django.core.exceptions.ImproperlyConfigured: HUB_HSTS_SECONDS='a year' "
        "is not valid: it must be a whole number"
    )


# --- development secrets under var/ ------------------------------------------------------


def test_a_development_secret_is_written_once_and_private(tmp_path, monkeypatch):
    monkeypatch.setattr(hub_settings, "VAR_DIR", tmp_path)
    assert hub_settings._dev_secret("secret_key", lambda: "first") == "first"
    assert hub_settings._dev_secret("secret_key", lambda: "second") == "first"
    assert stat.S_IMODE((tmp_path / "secret_key").stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]  # no draft left behind


def test_the_secret_another_process_wrote_first_wins(tmp_path, monkeypatch):
    """Parallel test workers (and web, worker, beat) start at once on a fresh var/: one
    that finds no file may lose the race to write it; it must then use the winner's, or
    its Celery worker (reading the file) would not decrypt what it encrypted."""
    monkeypatch.setattr(hub_settings, "VAR_DIR", tmp_path)

    def make_while_another_process_writes():
        (tmp_path / "fernet_key").write_text("theirs")
        return "mine"

    assert hub_settings._dev_secret("fernet_key", make_while_another_process_writes) == "theirs"
    assert (tmp_path / "fernet_key").read_text() == "theirs"
    assert [p.name for p in tmp_path.iterdir()] == ["fernet_key"]
