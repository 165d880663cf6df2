"""What a POST produced, shown once by the GET it redirects to (post/redirect/get), so a
reload never posts again (no second audited reveal) and the result never lives at an
address that only takes POST.

Kept in the person's session under one key per kind: `stash()` puts it there, `take()`
removes it as it reads it, so the page shows it once. A secret is encrypted with the
hub's Fernet keys first: the session store (the database) never holds it in clear."""

import json

from cryptography.fernet import InvalidToken

from . import crypto

SESSION_KEY = "hub_oneshot"


def stash(request, kind: str, payload: dict, *, secret: bool = False) -> None:
    text = json.dumps(payload)
    entries = dict(request.session.get(SESSION_KEY, {}))
    entries[kind] = {"secret": secret, "value": crypto.encrypt(text) if secret else text}
    request.session[SESSION_KEY] = entries


def take(request, kind: str) -> dict | None:
    """The payload stashed under `kind`, once; None when there is none (already shown)."""
    entries = dict(request.session.get(SESSION_KEY, {}))
    entry = entries.pop(kind, None)
    if entry is None:
        return None
    request.session[SESSION_KEY] = entries
    try:
        text = crypto.decrypt(entry["value"]) if entry.get("secret") else entry["value"]
        return json.loads(text)
    except (InvalidToken, TypeError, KeyError, ValueError):
        return None  # stashed under keys since rotated out, or not ours: nothing to show
