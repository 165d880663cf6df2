"""Token format: `hub_<prefix>_<secret>`; the prefix finds the row, the digest of the whole
token proves it. 32 random bytes make a plain SHA-256 digest enough (no dictionary to guess)."""

import hashlib
import hmac
import secrets

TOKEN_PREFIX = "hub"


def generate() -> tuple[str, str, str]:
    """Returns (token, prefix, digest)."""
    prefix = secrets.token_hex(6)
    token = f"{TOKEN_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    return token, prefix, digest(token)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def parse_prefix(token: str) -> str | None:
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1]


def matches(token: str, stored_digest: str) -> bool:
    return hmac.compare_digest(digest(token), stored_digest)
