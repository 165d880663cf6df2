"""Log lines without secrets, in one format for every process (web, gunicorn, worker, beat).

`logging_config()` is the one LOGGING dictionary: Django loads it (settings.LOGGING),
Celery's worker and beat load it instead of their own (hub/celery.py, `setup_logging`), and
gunicorn's access and error logs use its formatter and filter (hub/gunicorn_conf.py).
`HUB_LOG_FORMAT=json` (production's default) writes one JSON object a line; `text` (the
development default) a readable line.

Redaction happens twice on purpose: the filter cleans the record (message, traceback) for
any handler that carries it, and the formatters clean their final output, so a traceback a
formatter renders again from `exc_info`, or an `extra=` field, is cleaned too."""

import logging
import re

from celery import current_task
from pythonjsonlogger.json import JsonFormatter

# Values that must never reach a log line, whatever logged them: the hub's API tokens,
# AWS secret access keys (40 characters of base64 with mixed case), Fernet tokens, and
# anything given as `secret=…`, `password=…` or `token …`.
_PATTERNS = [
    re.compile(r"hub_[0-9a-f]{12}_[A-Za-z0-9_\-]{20,}"),
    re.compile(
        r"(?<![A-Za-z0-9/+=])(?=[A-Za-z0-9/+]*[A-Z])(?=[A-Za-z0-9/+]*[a-z])"
        r"[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])"
    ),
    re.compile(r"gAAAAA[A-Za-z0-9_\-]{40,}=*"),
    re.compile(
        r"(?i)((?:secret|password|passwd|token|authorization)[\"']?\s*[:=]\s*[\"']?)"
        r"([^\s\"',;]+)"
    ),
]
REDACTED = "[redacted]"
LOG_FORMATS = ("json", "text")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def redact(text: str) -> str:
    for pattern in _PATTERNS:
        if pattern.groups:
            text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
        else:
            text = pattern.sub(REDACTED, text)
    return text


class RedactSecretsFilter(logging.Filter):
    """Attached to every handler: rewrites the formatted message without secrets."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "gunicorn.access" and isinstance(record.args, dict):
            record.http = _access_fields(record.args)  # before the arguments may go
        message = record.getMessage()
        cleaned = redact(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def _access_fields(atoms: dict) -> dict:
    """A gunicorn access line's fields (its atoms), for the JSON format; no query string."""
    return {
        "remote": atoms.get("h"),
        "method": atoms.get("m"),
        "path": atoms.get("U"),
        "status": atoms.get("s"),
        "bytes": atoms.get("B"),
        "duration_ms": atoms.get("M"),
        "user_agent": atoms.get("a"),
    }


def _current_task() -> tuple[str, str] | None:
    """(name, id) of the Celery task this thread is running, if any."""
    task = current_task
    if not task or task.request.id is None:
        return None
    return task.name, task.request.id


class RedactingTextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class RedactingJsonFormatter(JsonFormatter):
    """One JSON object a line: timestamp, level, logger, message, process, the Celery task
    when there is one, a gunicorn access line's fields (`http`, set by the filter), and the
    traceback as `exc_info`."""

    def __init__(self, **kwargs):
        kwargs.setdefault("timestamp", True)
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger"})
        super().__init__("%(levelname)s %(name)s %(message)s %(process)d", **kwargs)

    def add_fields(self, log_data, record, message_dict) -> None:
        super().add_fields(log_data, record, message_dict)
        task = _current_task()
        if task is not None:
            log_data["task_name"], log_data["task_id"] = task

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def default_format(environ) -> str:
    """HUB_LOG_FORMAT, else JSON in production and text in development."""
    production = environ.get("HUB_ENV", "development") == "production"
    return environ.get("HUB_LOG_FORMAT") or ("json" if production else "text")


def logging_config(*, log_format: str, level: str = "INFO") -> dict:
    """The LOGGING dictionary of every process: one console handler on stderr with the
    redaction filter and the chosen format."""
    if log_format not in LOG_FORMATS:
        raise ValueError(f"HUB_LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}")
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "json": {"()": "hub.logging.RedactingJsonFormatter"},
            "text": {"()": "hub.logging.RedactingTextFormatter", "format": TEXT_FORMAT},
        },
        "filters": {"redact_secrets": {"()": "hub.logging.RedactSecretsFilter"}},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": log_format,
                "filters": ["redact_secrets"],
            },
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "botocore": {"level": "WARNING"},
            "urllib3": {"level": "WARNING"},
        },
    }
