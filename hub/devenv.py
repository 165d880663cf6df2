"""One development configuration: `make run` records the settings it gives its processes
in `var/dev.env`, and `manage.py` or `celery` started in another terminal load them, so a
`python manage.py hub_reconcile --dry-run` there talks to the same database, broker and
local AWS stand-in, never to a real AWS account by accident.

Loaded only in development, only for variables not already set, only the names below,
and never when HUB_ENV=production is in the environment or inside a pytest run (pytest
sets PYTEST_VERSION for the whole session, and the processes the tests start inherit it):
a developer's var/dev.env must not leak into tests. HUB_DEV_ENV=0 turns it off.

This module must not import Django: it runs before the settings are read."""

import os
import shlex
from collections.abc import Mapping, MutableMapping
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
FILE_NAME = "dev.env"
# What `make run` decides for its processes; nothing else is ever read from the file.
NAMES = (
    "HUB_VAR_DIR",
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "AWS_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_DEFAULT_REGION",
    "HUB_USE_REAL_AWS",
)
HEADER = (
    "# Written by `make run` (hub/devserver.py): the settings of its processes.\n"
    "# manage.py and celery in another terminal read it (development only; set a\n"
    "# variable yourself to override it, HUB_DEV_ENV=0 to ignore this file).\n"
)


def path(environ: Mapping[str, str] | None = None) -> Path:
    environ = os.environ if environ is None else environ
    return Path(environ.get("HUB_VAR_DIR") or BASE_DIR / "var") / FILE_NAME


def write(values: Mapping[str, str], *, var_dir: Path) -> Path:
    """Record `values` (names from NAMES) in `<var_dir>/dev.env`, readable by the shell too."""
    unknown = set(values) - set(NAMES)
    if unknown:
        raise ValueError(f"not a development setting: {', '.join(sorted(unknown))}")
    target = Path(var_dir) / FILE_NAME
    target.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"{name}={shlex.quote(values[name])}\n" for name in NAMES if name in values]
    tmp = target.with_suffix(".tmp")
    tmp.write_text(HEADER + "".join(lines))
    tmp.chmod(0o600)
    tmp.replace(target)
    return target


def read(file: Path) -> dict[str, str]:
    values = {}
    for line in file.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        name, _, raw = line.partition("=")
        if name in NAMES:
            parts = shlex.split(raw)
            values[name] = parts[0] if parts else ""
    return values


def refused(environ: Mapping[str, str]) -> str | None:
    """Why the file must not be read in this process, or None."""
    if environ.get("HUB_ENV", "development") != "development":
        return "HUB_ENV is not development"
    if "PYTEST_VERSION" in environ or "PYTEST_CURRENT_TEST" in environ:
        return "inside a test run"
    if environ.get("HUB_DEV_ENV", "1").strip().lower() in ("0", "false", "no", "off"):
        return "HUB_DEV_ENV=0"
    return None


def load(environ: MutableMapping[str, str] | None = None) -> list[str]:
    """Set the recorded settings that `environ` (os.environ) lacks; the names set."""
    environ = os.environ if environ is None else environ
    if refused(environ) is not None:
        return []
    file = path(environ)
    if not file.is_file():
        return []
    loaded = []
    for name, value in read(file).items():
        if name not in environ:
            environ[name] = value
            loaded.append(name)
    return loaded
