"""Audit events in plain sentences ("alice gave bob pull + push"), for History and Activity.

Each app says, next to its own actions, how each one reads and what kind of change it is
(`<app>/audit_text.py`, loaded by the app's `ready()`): one renderer per action. An action
without one still reads as a sentence, from its name and target.
"""

from collections.abc import Callable
from dataclasses import dataclass

# What happened, in words: the Activity filter's "kind".
KINDS = {
    "requested": "Requested or created",
    "changed": "Changed",
    "removed": "Deleted or removed",
    "ready": "Became active",
    "failed": "Failed",
    "retried": "Retried",
    "secrets": "Secrets revealed or keys rotated",
    "repaired": "Put right after a change outside the hub",
}

# What it happened to, in words (AuditEvent.target_type): the filter's "object".
OBJECTS: dict[str, str] = {}


@dataclass(frozen=True)
class Said:
    """What a renderer reads: who did it (a username, or "The hub" for the hub's own
    work), the target as recorded, the event's detail and whether it was done in the
    Django admin."""

    actor: str
    target: str
    detail: dict
    by_person: bool

    @property
    def via_admin(self) -> str:
        return " in the admin" if self.detail.get("via") == "admin" else ""


@dataclass(frozen=True)
class _Renderer:
    kind: str
    render: Callable[[Said], str]


_RENDERERS: dict[str, _Renderer] = {}


def renders(*actions: str, kind: str):
    """Register the function as how `actions` read; `kind` is a key of KINDS."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind of audit event: {kind}")

    def register(render: Callable[[Said], str]):
        for action in actions:
            if action in _RENDERERS:
                raise ValueError(f"{action} already has a renderer")
            _RENDERERS[action] = _Renderer(kind, render)
        return render

    return register


def object_words(target_type: str, words: str) -> None:
    OBJECTS[target_type] = words


def describe(event) -> str:
    """The event as one sentence."""
    said = Said(
        actor=event.actor_username or "The hub",
        target=event.target_repr,
        detail=event.detail if isinstance(event.detail, dict) else {},
        by_person=bool(event.actor_username),
    )
    renderer = _RENDERERS.get(event.action)
    if renderer is None:
        return _unregistered(event.action, said)
    return renderer.render(said)


def kind_of(action: str) -> str:
    renderer = _RENDERERS.get(action)
    return renderer.kind if renderer else ""


def actions_of_kind(kind: str) -> list[str]:
    return sorted(action for action, renderer in _RENDERERS.items() if renderer.kind == kind)


def _unregistered(action: str, said: Said) -> str:
    """E.g. "api_token.created" → "alice: api token created, …"; never the raw code."""
    thing, _, verb = action.partition(".")
    words = f"{thing.replace('_', ' ')} {verb.replace('_', ' ')}".strip()
    target = f" ({said.target})" if said.target else ""
    return f"{said.actor}: {words}{target}{said.via_admin}"


# Small helpers the apps' renderers share.


def listing(names) -> str:
    """["a", "b", "c"] → "a, b and c"."""
    names = [str(n) for n in names]
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def access_words(mode) -> str:
    """The recorded access mode ("pull+push", "pull", or `writable`) in the page's words."""
    if mode is True or mode == "pull+push":
        return "pull + push"
    return "pull"


def reason(said: Said) -> str:
    text = str(said.detail.get("reason") or "").strip()
    return f": {text}" if text else ""


@renders("user.break_glass_link_created", kind="secrets")
def _break_glass_link(said: Said) -> str:
    user = said.detail.get("user") or said.target
    return f"A one-time break-glass sign-in link was made for {user}"


@renders("user.break_glass_sign_in", kind="secrets")
def _break_glass_sign_in(said: Said) -> str:
    return f"{said.actor} signed in with a break-glass link"


@renders("secrets.reencrypt", kind="secrets")
def _reencrypt(said: Said) -> str:
    moved = sum(
        int(counts.get("reencrypted", 0))
        for counts in said.detail.values()
        if isinstance(counts, dict)
    )
    return (
        f"{said.actor} re-encrypted {moved} stored secret{'s' if moved != 1 else ''} "
        "with the first encryption key"
    )
