"""The permission matrix: one table-driven check of who may open or post to every view.

Every view is tried by six roles (see `world` in tests/conftest.py):

    anonymous      signed out                   -> always sent to the sign-in page
    non_member     signed in, in no project     -> 404 on project pages (never leak existence)
    member         member of `acp`              -> reads, but 403 on admin actions
    project_admin  admin of `acp`               -> allowed
    other_admin    admin of `other` only        -> 404 on `acp`'s pages
    hub_admin      staff, in no project         -> allowed everywhere

A row of the table is a `Case`: a URL name, its kwargs, the method, the POST data and the
`Outcome` each role gets. `check()` signs the role in, snapshots the database, makes the
request, compares the status (and the sign-in redirect), then asserts that the database
changed when the outcome says so (`DONE`, `CREATED`) and that it did NOT change otherwise:
a refused action leaves every row of the hub's tables exactly as it was.

How to add a view
-----------------
1. Add one `Case` per method to `CASES` in `tests/<app>/test_permissions.py`. An app without
   such a module creates one with a `CASES` list and the three-line test at the bottom of
   `tests/projects/test_permissions.py`. Start from a preset (`READ`, `ADMIN_PAGE`,
   `ADMIN_ACTION`, `SIGNED_IN`, ...) or build one with `expect(...)`, e.g. for an action of
   repo managers while `acp` lets every member manage repositories:

       Case("docker_repos:request", ADMIN_ACTION | {"member": DONE}, kwargs=ACP,
            method="post", data={"service": ..., "name": "web"})

2. `kwargs` and `data` may be callables `(world, user) -> dict` (`user` is None for the
   anonymous role). They run before the snapshot, so they may create the rows the request
   needs (a token to revoke, a repository to delete).
3. tests/test_matrix_coverage.py fails while a named URL of a checked namespace has no row;
   add the app's namespace to `CHECKED_NAMESPACES` there once its rows exist.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import pytest
from django.conf import settings
from django.shortcuts import resolve_url
from django.urls import reverse

from .helpers import db_state, state_diff

ROLES = ("anonymous", "non_member", "member", "project_admin", "other_admin", "hub_admin")


@dataclass(frozen=True)
class Outcome:
    status: int
    changes: bool = False  # the request must change the database (else: must not)
    sign_in: bool = False  # a redirect to the sign-in page, back to this URL afterwards

    def __str__(self) -> str:
        return f"{self.status}{' +changes' if self.changes else ''}"


SIGN_IN = Outcome(302, sign_in=True)
OK = Outcome(200)
CREATED = Outcome(201, changes=True)
DONE = Outcome(302, changes=True)  # done, then redirected (post/redirect/get)
REFUSED = Outcome(302)  # redirected with an error message, nothing changed
FORBIDDEN = Outcome(403)
NOT_FOUND = Outcome(404)


def expect(
    *,
    non_member: Outcome,
    member: Outcome,
    project_admin: Outcome,
    other_admin: Outcome,
    hub_admin: Outcome,
    anonymous: Outcome = SIGN_IN,
) -> dict[str, Outcome]:
    return {
        "anonymous": anonymous,
        "non_member": non_member,
        "member": member,
        "project_admin": project_admin,
        "other_admin": other_admin,
        "hub_admin": hub_admin,
    }


def everyone(outcome: Outcome) -> dict[str, Outcome]:
    """Every signed-in role gets `outcome`."""
    return expect(
        non_member=outcome,
        member=outcome,
        project_admin=outcome,
        other_admin=outcome,
        hub_admin=outcome,
    )


# Pages and actions that are not about one project.
SIGNED_IN = everyone(OK)
HUB_ADMIN_PAGE = everyone(FORBIDDEN) | {"hub_admin": OK}
HUB_ADMIN_ACTION = everyone(FORBIDDEN) | {"hub_admin": DONE}
# Pages and actions of project `acp`.
READ = expect(
    non_member=NOT_FOUND, member=OK, project_admin=OK, other_admin=NOT_FOUND, hub_admin=OK
)
ADMIN_PAGE = READ | {"member": FORBIDDEN}
ADMIN_ACTION = expect(
    non_member=NOT_FOUND,
    member=FORBIDDEN,
    project_admin=DONE,
    other_admin=NOT_FOUND,
    hub_admin=DONE,
)
NOWHERE = everyone(NOT_FOUND)

ACP = {"shortname": "acp"}


@dataclass(frozen=True)
class Case:
    url_name: str
    expect: Mapping[str, Outcome]
    kwargs: dict | Callable[[Any, Any], dict] = field(default_factory=dict)
    method: str = "get"
    data: dict | Callable[[Any, Any], dict] = field(default_factory=dict)
    label: str = ""  # tells two rows of the same URL and method apart in test ids

    def __post_init__(self):
        missing = set(ROLES) - set(self.expect)
        assert not missing, f"{self.url_name}: no outcome for {sorted(missing)}"
        assert self.method in ("get", "post"), self.method

    @property
    def id(self) -> str:
        return f"{self.method.upper()} {self.url_name}" + (f" ({self.label})" if self.label else "")


def parametrize(cases: list[Case]):
    """`@parametrize(CASES)` on `def test_...(case, role, client, world)`: one test per
    row and role."""
    return pytest.mark.parametrize(
        ("case", "role"),
        [pytest.param(case, role, id=f"{case.id}-{role}") for case in cases for role in ROLES],
    )


def _resolve(value, world, user):
    return value(world, user) if callable(value) else dict(value)


def check(case: Case, role: str, client, world) -> None:
    user = None if role == "anonymous" else world.users[role]
    if user is not None:
        client.force_login(user)
    url = reverse(case.url_name, kwargs=_resolve(case.kwargs, world, user))
    data = _resolve(case.data, world, user)
    expected = case.expect[role]

    before = db_state()
    response = getattr(client, case.method)(url, data)
    after = db_state()

    assert response.status_code == expected.status, (
        f"{case.id} as {role}: expected {expected.status}, got {response.status_code}"
    )
    if expected.sign_in:
        sign_in = resolve_url(settings.LOGIN_URL)
        assert response["Location"] == f"{sign_in}?next={quote(url)}"
    elif expected.status in (301, 302):
        assert not response["Location"].startswith(resolve_url(settings.LOGIN_URL))
    if expected.changes:
        assert after != before, f"{case.id} as {role} changed nothing"
    else:
        assert after == before, f"{case.id} as {role} changed: {state_diff(before, after)}"
