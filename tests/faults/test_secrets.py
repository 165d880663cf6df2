"""Figure 6: no stored secret in any log line or any list response of a full flow.

tests/docker_repos/test_access_secrets.py checks the log records of the access flow and
the repository pages role by role. This widens the scope to the whole hub:
- the flow goes through the browser's pages and the REST API: a repository requested on
  its page, robots and people granted on MANAGE ACCESS, an ECR identity created on
  Connected Identities, API tokens created, every kind of reveal, every kind of rotation;
- every logger of the process logs at DEBUG (botocore's wire log included, SQL queries
  with their parameters too), and the log is read twice: the raw records of everything
  but the AWS libraries' wire logs (the hub itself never logs a secret), and the text the
  root logging handler of hub/settings.py LOGGING writes — through its RedactSecretsFilter
  — for every record (what reaches the operators' logs, even at DEBUG);
- the secrets are all of them: every secret access key IAM handed out (rotated ones
  included), every stored one decrypted with hub.crypto, their stored ciphertexts, and
  every API token;
- the responses are every page of the hub's apps and every GET endpoint of the API
  (found from the URL resolver, so new ones are checked too), and every admin list, each
  as four roles. Only the reveal endpoints may show a secret: they must show the caller's
  (which shows this search would find one)."""

import io
import logging
from collections import Counter

import pytest
from django.contrib import admin
from django.db import connection
from django.urls import get_resolver, resolve, reverse

from docker_repos.models import DockerRepo, RepoAccess, RobotAccount
from hub.choices import Status
from hub.crypto import decrypt
from hub.logging import RedactSecretsFilter
from identities.models import ApiToken, EcrIdentity
from tests.access_helpers import converging
from tests.api.support import client_for

from .support import NODE_ROLE

WIRE_LOGGERS = ("botocore", "boto3", "urllib3", "moto", "s3transfer", "werkzeug")
ROLES = ("member", "project_admin", "other_admin", "hub_admin")
REVEALS = {"api:robot-credentials", "api:ecr-identity-credentials"}


class RawLines(logging.Handler):
    """Each record's text as it was logged: (logger name, message + traceback)."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines: list[tuple[str, str]] = []

    def emit(self, record):
        text = record.getMessage()
        if record.exc_info:
            text += logging.Formatter().formatException(record.exc_info)
        self.lines.append((record.name, text))


@pytest.fixture
def every_log_line(caplog):
    """Every logger at DEBUG for the test. Yields (the raw lines, the text the hub's root
    handler wrote, the level a logger has outside this test). That handler is the one
    LOGGING configures, with RedactSecretsFilter (which rewrites a record in place),
    writing into a buffer instead of stderr meanwhile; the raw lines are taken by a handler
    that runs before it."""
    root = logging.getLogger()
    [handler] = [
        h for h in root.handlers if any(isinstance(f, RedactSecretsFilter) for f in h.filters)
    ]
    buffer = io.StringIO()
    previous_stream = handler.setStream(buffer)
    previous_level = handler.level
    handler.setLevel(logging.DEBUG)
    raw = RawLines()
    root.handlers.insert(0, raw)
    loggers = [
        root,
        *(
            logger
            for logger in logging.root.manager.loggerDict.values()
            if isinstance(logger, logging.Logger)
        ),
    ]
    levels = {logger: logger.level for logger in loggers}
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
    caplog.set_level(logging.DEBUG)
    force_debug_cursor = connection.force_debug_cursor
    connection.force_debug_cursor = True  # django.db.backends logs every query

    def pinned_level(name: str) -> int:
        """The level the hub's configuration gave `name` or its nearest configured
        ancestor, the root excepted (NOTSET: it follows the root, i.e. HUB_LOG_LEVEL)."""
        logger = logging.getLogger(name)
        while logger is not None and logger is not root:
            if levels.get(logger, logging.NOTSET):
                return levels[logger]
            logger = logger.parent
        return logging.NOTSET

    try:
        yield raw.lines, buffer, pinned_level
    finally:
        connection.force_debug_cursor = force_debug_cursor
        for logger, level in levels.items():
            logger.setLevel(level)
        root.removeHandler(raw)
        handler.setLevel(previous_level)
        handler.setStream(previous_stream)


def get_views(namespace: str, kwargs: dict) -> dict[str, str]:
    """{"namespace:name": URL} of every named view of `namespace` that answers GET."""
    resolver = get_resolver().namespace_dict[namespace][1]
    urls = {}
    for name in resolver.reverse_dict:
        if not isinstance(name, str):
            continue
        possibilities = resolver.reverse_dict.getlist(name)[0][0]
        params = possibilities[0][1]
        url = reverse(f"{namespace}:{name}", kwargs={p: kwargs[p] for p in params})
        func = resolve(url).func
        view = getattr(func, "view_class", None) or getattr(func, "cls", None)
        if view is not None and hasattr(view, "get"):
            urls[f"{namespace}:{name}"] = url
    return urls


def test_no_secret_in_any_log_line_or_list_response_of_a_full_flow(
    world,
    aws,
    settings,
    client,
    created_secrets,
    every_log_line,
    django_capture_on_commit_callbacks,
):
    """Figure: a full flow (1 repository, 2 robots, 3 people's identities, 5 API tokens,
    6 reveals, 4 rotations) -> 9 IAM secrets handed out, 5 stored (decrypted), 5
    ciphertexts, 5 API tokens = 19 secrets; every log record (at DEBUG) and every page, API
    GET endpoint and admin list as 4 roles -> 0 occurrences; the 5 key reveals show the
    caller's own secret (the 6th reveal is the new token, shown once)."""
    settings.HUB_ECR_PULL_PRINCIPALS = [NODE_ROLE]
    lines, handler_output, pinned_level = every_log_line
    api = {world.users[role]: client_for(world.users[role]) for role in ROLES}  # 4 tokens
    repo, robots, reveals = run_the_flow(world, client, api, django_capture_on_commit_callbacks)
    assert len(reveals) == 6 and all(r.status_code in (200, 201) for r in reveals)

    # Every secret there is.
    stored = [*RobotAccount.objects.all(), *EcrIdentity.objects.all()]
    assert {row.status for row in stored} == {Status.ACTIVE}
    current = [decrypt(row.secret_access_key_encrypted) for row in stored]
    ciphertexts = [row.secret_access_key_encrypted for row in stored]
    tokens = [
        reveals[0].context["new_token"],
        *(c._credentials["HTTP_AUTHORIZATION"].split()[1] for c in api.values()),
    ]
    assert len(created_secrets) == 9  # 2 robots + 3 people, then 4 rotations
    assert set(current) <= set(created_secrets) and len(current) == 5
    assert ApiToken.objects.count() == len(tokens) == 5
    secrets = {*created_secrets, *ciphertexts, *tokens}
    assert len(secrets) == 9 + 5 + 5

    # The reveals show the caller's own secret (so the search below can find one).
    for response in reveals[1:]:
        assert any(s in response.content.decode() for s in created_secrets)

    # Every page, every API GET endpoint, every admin list, as each role.
    pages = pages_to_search(world, repo, robots, stored)
    responses = 0
    for role in ROLES:
        user = world.users[role]
        client.force_login(user)
        for name, url in pages.items():
            response = (api[user] if name.startswith("api:") else client).get(url)
            assert response.status_code < 500, (name, role)
            body = response.content.decode()
            responses += 1
            for secret in secrets:
                assert secret not in body, f"a secret in {name} ({url}) as {role}"
    assert len(pages) >= 40 and responses == len(ROLES) * len(pages)

    # Every log line.
    assert len(lines) > 1000
    plaintexts = {*created_secrets, *tokens}
    leaky = Counter(
        name
        for name, text in lines  # logger name -> lines carrying a secret
        if any(secret in text for secret in secrets)
    )
    # The hub's own loggers (and Celery's, Django's request log...) never log one. Only
    # libraries' DEBUG output does: botocore's wire log (IAM's answers with the new keys),
    # Django's template engine (a variable missing from a reveal page's context: the
    # context is in the message) and debug SQL (the ciphertexts it stores; only with
    # DEBUG on). Each of those loggers is kept above DEBUG by the configuration (LOGGING
    # pins botocore and urllib3 at WARNING, Django's defaults `django` at INFO), whatever
    # HUB_LOG_LEVEL says.
    assert leaky.keys() <= {"django.db.backends", "django.template"} | {
        name for name in leaky if name.startswith(WIRE_LOGGERS)
    }, leaky
    assert sum(n for name, n in leaky.items() if name.startswith("botocore")) >= len(
        created_secrets
    )
    for name, text in lines:
        if name == "django.db.backends":
            assert not any(secret in text for secret in plaintexts)
    for name in leaky.keys() - {"django.db.backends"}:
        assert pinned_level(name) >= logging.INFO, f"{name} logs secrets at DEBUG"
    # And at DEBUG everywhere, what the root handler writes has none: RedactSecretsFilter.
    written = handler_output.getvalue()
    assert written.count("\n") >= len(lines)
    for secret in secrets:
        assert secret not in written, "a secret in the root handler's output"


def run_the_flow(world, client, api, capture_on_commit):
    """The flow of the docstring above, through the pages and the API, with every task run
    at once. Returns the repository, its robots by name and the 6 reveals' responses (the
    first: the API token page showing the new token)."""
    member, padmin, hubadmin = (world.users[r] for r in ("member", "project_admin", "hub_admin"))
    client.force_login(member)
    with converging(capture_on_commit):
        client.post(
            reverse("docker_repos:request", args=["acp"]),
            {
                "service": world.service.pk,
                "name": "web",
                "tag_mutability": "MUTABLE",
                "scan_on_push": "on",
            },
        )
    repo = DockerRepo.objects.get()
    assert repo.status == Status.ACTIVE, repo.status_detail
    args = ["acp", repo.pk]
    with converging(capture_on_commit):
        response = client.post(
            reverse("docker_repos:access", args=args),
            {"new_robots": "ci drone", "pull": ["member", "padmin"], "push": ["member"]},
        )
    assert response.status_code == 302
    robots = {r.name: r for r in RobotAccount.objects.all()}
    assert len(robots) == 2
    client.force_login(hubadmin)
    with converging(capture_on_commit):
        client.post(reverse("identities:ecr-create"))
    assert set(EcrIdentity.objects.values_list("status", flat=True)) == {Status.ACTIVE}
    assert EcrIdentity.objects.count() == 3
    assert not RepoAccess.objects.exclude(status=Status.ACTIVE).exists()
    token_page = client.post(reverse("identities:api-tokens"), {"name": "ci token"})
    assert token_page.status_code == 201
    reveals = [token_page]  # shows the new token, once

    client.force_login(padmin)
    # A reveal redirects to the page that shows the secret once (post/redirect/get).
    reveals.append(
        client.post(
            reverse("docker_repos:robot-reveal", args=[*args, robots["ci"].pk]), follow=True
        )
    )
    reveals.append(
        api[member].get(f"/api/v1/docker-repos/{repo.pk}/robots/{robots['drone'].pk}/credentials/")
    )
    client.force_login(member)
    reveals.append(client.post(reverse("identities:ecr-reveal"), follow=True))
    reveals.append(api[padmin].get("/api/v1/me/identities/ecr/credentials/"))
    reveals.append(api[hubadmin].get("/api/v1/me/identities/ecr/credentials/"))
    with converging(capture_on_commit):
        client.post(reverse("docker_repos:robot-rotate", args=[*args, robots["ci"].pk]))
        api[member].post(f"/api/v1/docker-repos/{repo.pk}/robots/{robots['drone'].pk}/rotate/")
        client.post(reverse("identities:ecr-rotate"))
        api[padmin].post("/api/v1/me/identities/ecr/rotate/")
    return repo, robots, reveals


def pages_to_search(world, repo, robots, stored) -> dict[str, str]:
    """Every page of the hub's apps and GET endpoint of the API but the reveals, every
    admin list, and the admin page of every stored secret's row: name -> URL."""
    fill = {
        "shortname": "acp",
        "repo_id": repo.pk,
        "robot_id": robots["ci"].pk,
        "access_id": RepoAccess.objects.first().pk,
        "service_id": world.service.pk,
        "username": "member",
        "token_id": ApiToken.objects.first().pk,
    }
    pages = {}
    for namespace in ("projects", "docker_repos", "identities", "api"):
        pages |= get_views(namespace, fill)
    assert REVEALS <= pages.keys()
    for name in REVEALS:
        del pages[name]
    for model in admin.site._registry:
        meta = model._meta
        pages[f"admin:{meta.app_label}_{meta.model_name}_changelist"] = reverse(
            f"admin:{meta.app_label}_{meta.model_name}_changelist"
        )
    for row in (*stored, *ApiToken.objects.all()):
        meta = row._meta
        pages[f"admin:{meta.model_name}:{row.pk}"] = reverse(
            f"admin:{meta.app_label}_{meta.model_name}_change", args=[row.pk]
        )
    return pages
