"""The REST API's permission matrix: one table-driven check of who may call every endpoint.

Each endpoint is called by six roles (see `world` in tests/conftest.py), each with a real
personal API token (`Authorization: Token …`):

    anonymous      no credentials               -> 401 everywhere
    non_member     signed in, in no project     -> 404 for `acp`'s objects (never 403)
    member         member of `acp`              -> reads; 403 on admin actions
    project_admin  admin of `acp`               -> allowed
    other_admin    admin of `other` only        -> 404 for `acp`'s objects
    hub_admin      staff, in no project         -> allowed everywhere

A row is an `Endpoint`: method, URL, body and the status each role gets. `check()` makes
the request and asserts the status; every error answer must have the contract's shape
(`{"error": {"code", "message", "fields"}}`) and leave every row of the hub's tables as it
was; a successful unsafe request must change something, a read must change nothing.

How to add an endpoint
----------------------
Add one row per method to `ENDPOINTS` in tests/api/test_matrix.py, starting from a
preset (`READ`, `ADMIN`, `MANAGER`, `SIGNED_IN`, `HUB_ADMIN`, `NOWHERE`) or `expect(...)`:

    Endpoint("post", repo_url("retry/", status="failed"), MANAGER(202))

`url` and `body` may be callables `(world) -> value`: they run before the snapshot, so
they may create what the request needs (a failed repository to retry, a service to
delete). The test runs the row for every role, with a fresh database each time.
"""

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pytest
from django.apps import apps

from .support import client_for

ROLES = ("anonymous", "non_member", "member", "project_admin", "other_admin", "hub_admin")
STATE_APPS = ("auth", "hub", "projects", "identities", "docker_repos")


def expect(
    *,
    non_member: int,
    member: int,
    project_admin: int,
    other_admin: int,
    hub_admin: int,
    anonymous: int = 401,
) -> dict[str, int]:
    return {
        "anonymous": anonymous,
        "non_member": non_member,
        "member": member,
        "project_admin": project_admin,
        "other_admin": other_admin,
        "hub_admin": hub_admin,
    }


def SIGNED_IN(ok: int = 200) -> dict[str, int]:  # noqa: N802 - a preset, read like a constant
    """Anyone signed in."""
    return expect(non_member=ok, member=ok, project_admin=ok, other_admin=ok, hub_admin=ok)


def HUB_ADMIN(ok: int) -> dict[str, int]:  # noqa: N802
    return expect(non_member=403, member=403, project_admin=403, other_admin=403, hub_admin=ok)


def READ(ok: int = 200) -> dict[str, int]:  # noqa: N802
    """Members of `acp` (and hub admins) read; nobody else sees it."""
    return expect(non_member=404, member=ok, project_admin=ok, other_admin=404, hub_admin=ok)


def ADMIN(ok: int) -> dict[str, int]:  # noqa: N802
    """Project admins of `acp` and hub admins; members are refused with 403."""
    return READ(ok) | {"member": 403}


def MANAGER(ok: int) -> dict[str, int]:  # noqa: N802
    """Repo managers: while `acp` lets every member manage repositories (the default)."""
    return READ(ok)


NOWHERE = expect(non_member=404, member=404, project_admin=404, other_admin=404, hub_admin=404)


@dataclass(frozen=True)
class Endpoint:
    method: str
    url: str | Callable[[Any], str]
    expect: Mapping[str, int]
    body: Any = None  # JSON body, or a callable (world) -> body
    label: str = ""
    changes: bool | None = None  # a success changes the database (default: unsafe methods)

    def __post_init__(self):
        missing = set(ROLES) - set(self.expect)
        assert not missing, f"{self.id}: no status for {sorted(missing)}"

    @property
    def id(self) -> str:
        url = self.url if isinstance(self.url, str) else repr(self.url)
        return f"{self.method.upper()} {url}" + (f" ({self.label})" if self.label else "")


def parametrize(endpoints: list[Endpoint]):
    """`@parametrize(ENDPOINTS)` on `def test_...(endpoint, role, world)`."""
    return pytest.mark.parametrize(
        ("endpoint", "role"),
        [pytest.param(e, role, id=f"{e.id}-{role}") for e in endpoints for role in ROLES],
    )


def db_state() -> dict[str, list[tuple]]:
    """Every row of the hub's tables (new models included automatically)."""
    return {
        model._meta.label: list(model._base_manager.order_by("pk").values_list())
        for model in apps.get_models()
        if model._meta.app_label in STATE_APPS
    }


def changed_tables(before: dict, after: dict) -> list[str]:
    return sorted(
        label for label in before.keys() | after.keys() if before.get(label) != after.get(label)
    )


def assert_error_shape(response) -> dict:
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"code", "message", "fields"}, error
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["fields"], dict)
    for messages in error["fields"].values():
        assert isinstance(messages, list) and all(isinstance(m, str) for m in messages)
    return error


def call(client, method: str, url: str, body=None):
    data = json.dumps(body) if body is not None else None
    return client.generic(method.upper(), url, data or "", content_type="application/json")


def _resolve(value, world):
    return value(world) if callable(value) else value


def check(endpoint: Endpoint, role: str, world):
    user = None if role == "anonymous" else world.users[role]
    client = client_for(user)
    url = _resolve(endpoint.url, world)
    body = _resolve(endpoint.body, world)
    expected = endpoint.expect[role]

    before = db_state()
    response = call(client, endpoint.method, url, body)
    after = db_state()

    assert response.status_code == expected, (
        f"{endpoint.id} as {role}: expected {expected}, got {response.status_code}: "
        f"{response.content[:500]!r}"
    )
    changes = changed_tables(before, after)
    if expected >= 400:
        error = assert_error_shape(response)
        if expected == 401:
            assert error["code"] == "not_authenticated"
            assert response["WWW-Authenticate"] == "Token"
        assert changes == [], f"{endpoint.id} as {role} was refused but changed {changes}"
    else:
        should_change = endpoint.changes
        if should_change is None:
            should_change = endpoint.method.lower() not in ("get", "head")
        if should_change:
            assert changes, f"{endpoint.id} as {role} changed nothing"
        else:
            assert changes == [], f"{endpoint.id} as {role} changed {changes}"
    return response
