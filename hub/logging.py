import logging
import re

# Values that must never reach a log line, whatever logged them: the hub's API tokens,
# AWS secret access keys (40 characters of base64 with mixed case), Fernet tokens, and
# anything given as `secret=…`, `password=…` or `token …`.
_PATTERNS = [
    re.compile(r"hub_[0-9a-f]{12}_[A-Za-z0-9_\-]{20,}"),
    re.compile(r"(?<![A-Za-z0-9/+=])(?=[A-Za-z0-9/+]*[A-Z])(?=[A-Za-z0-9/+]*[a-z])"
               r"[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])"),
    re.compile(r"gAAAAA[A-Za-z0-9_\-]{40,}=*"),
    re.compile(r"(?i)((?:secret|password|passwd|token|authorization)[\"']?\s*[:=]\s*[\"']?)"
               r"([^\s\"',;]+)"),
]
REDACTED = "[redacted]"


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
        message = record.getMessage()
        cleaned = redact(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
