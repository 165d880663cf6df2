"""Figure 5: a fuzz pass over every form: hostile and random input, posted by every role,
never gets a 5xx.

The forms are found, not listed: every named URL of the `projects`, `docker_repos` and
`identities` namespaces whose view answers POST (a new form is fuzzed without touching this
file). The field names are found too: every field of every Django form in those apps'
forms modules, plus every key the views read from request.POST themselves.

Each view is posted to by each of the six roles of the permission matrix with
1. no fields at all, then every field set to each value of a fixed corpus of nasty values
   (empty, 10,000 characters, NUL, unicode and control characters, HTML/JS, SQL, numbers
   negative, huge and not numbers, wrong choices), on the view's real URL;
2. Hypothesis examples: each field absent, one value or several (a list), drawn from the
   corpus, real values of the seeded data (to get past validation into the services) and
   random text; the URL's ids and names real or hostile (unknown, huge, odd characters).
Every request runs in a savepoint that is rolled back, so each sees the same seeded data.
AWS is moto in-process (a POST never calls it: tasks go on commit, which a test's
transaction never reaches)."""

import importlib
import inspect
import re
from urllib.parse import quote

import pytest
from django import forms
from django.db import transaction
from django.test import Client
from django.urls import get_resolver, reverse
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from docker_repos.models import RepoAccess
from hub.choices import Status
from identities.services import api_token_create
from tests.access_helpers import fake_active_repo, fake_identity, fake_robot
from tests.matrix import ROLES

APPS = ("projects", "docker_repos", "identities")
EXAMPLES = 8  # Hypothesis examples per view (each posted by the 6 roles)

CORPUS = [
    "",
    " ",
    "a" * 10_000,
    "\x00",
    "web\x00",
    "ünïcødé ✓ 🐳 日本語",
    "\u202e\ufeff\u200b",
    "\r\n\t",
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "' OR 1=1 --",
    "'; DROP TABLE projects_project; --",
    "-1",
    "0",
    "99999999999999999999999999",
    "1e308",
    "NaN",
    "../../etc/passwd",
    "%s%n{0}{{x}}",
    "SOMETIMES",
    "javascript:alert(1)",
    "//evil.example/",
    "acp/web/../../x",
]
# Real values of the seeded data: with these, random posts get past the forms.
FRIENDLY = [
    "acp",
    "web",
    "acp/web",
    "member",
    "padmin",
    "hubadmin",
    "drone-ci",
    "ci",
    "MUTABLE",
    "IMMUTABLE",
    "admin",
    "members",
    "on",
    "true",
    "1",
    "5",
    "10000",
    "hello-world-app",
    "a new name",
    "/projects/acp/",
]
HOSTILE_IDS = ["0", "99999999999999999999"]
HOSTILE_NAMES = ["nope", "<script>", "ünï", "a" * 300, "\x00", "%00", "..", " "]
HOSTILE_URL_VALUES = {"shortname": ["other", "nope", "\x00"], "username": HOSTILE_NAMES}
HOSTILE_URL_VALUES |= {
    name: HOSTILE_IDS for name in ("repo_id", "robot_id", "access_id", "service_id", "token_id")
}


def post_views() -> dict[str, list[str]]:
    """{"namespace:name": the names of its URL's arguments} of every view taking POST."""
    views = {}
    for namespace, (_, resolver) in get_resolver().namespace_dict.items():
        if namespace not in APPS:
            continue
        for pattern in resolver.url_patterns:
            view_class = getattr(getattr(pattern, "callback", None), "view_class", None)
            if getattr(pattern, "name", None) and view_class and hasattr(view_class, "post"):
                views[f"{namespace}:{pattern.name}"] = list(pattern.pattern.converters)
    return views


def field_names() -> list[str]:
    names = set()
    for app in APPS:
        try:
            module = importlib.import_module(f"{app}.forms")
        except ImportError:
            continue
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, forms.BaseForm) and cls.__module__ == module.__name__:
                names |= set(cls.base_fields)
        source = inspect.getsource(importlib.import_module(f"{app}.views"))
        names |= set(re.findall(r"request\.POST\.(?:get|getlist)\(\s*[\"'](\w+)[\"']", source))
    return sorted(names)


POST_VIEWS = post_views()
FIELDS = field_names()


def test_the_forms_are_found():
    """The enumeration finds the forms it must (a guard: new ones join by themselves)."""
    assert {
        "projects:create",
        "projects:settings",
        "projects:member-add",
        "projects:member-role",
        "projects:member-remove",
        "projects:services",
        "projects:service-edit",
        "projects:service-delete",
        "docker_repos:request",
        "docker_repos:delete",
        "docker_repos:retry",
        "docker_repos:access",
        "docker_repos:access-retry",
        "docker_repos:robot-reveal",
        "docker_repos:robot-rotate",
        "docker_repos:robot-retry",
        "identities:ecr-create",
        "identities:ecr-reveal",
        "identities:ecr-rotate",
        "identities:ecr-retry",
        "identities:api-tokens",
        "identities:api-token-revoke",
    } <= POST_VIEWS.keys()
    assert {
        "shortname",
        "name",
        "description",
        "repo_management",
        "admin",
        "user",
        "role",
        "service",
        "tag_mutability",
        "scan_on_push",
        "keep_last_images",
        "confirm",
        "pull",
        "push",
        "remove_robot",
        "new_robots",
        "next",
    } <= set(FIELDS)


@pytest.fixture
def seeded(world, aws, settings):
    """Real objects behind every URL argument, and a signed-in client per role."""
    repo = fake_active_repo(world)
    robot = fake_robot(repo, "drone-ci")
    fake_identity(world.users["member"])
    access = RepoAccess.objects.create(
        repo=repo, user=world.users["member"], status=Status.FAILED, status_detail="AWS said no"
    )
    token, _ = api_token_create(user=world.users["hub_admin"], name="fuzz")
    clients = {}
    for role in ROLES:
        clients[role] = Client()
        if role != "anonymous":
            clients[role].force_login(world.users[role])
    real = {
        "shortname": "acp",
        "repo_id": repo.pk,
        "robot_id": robot.pk,
        "access_id": access.pk,
        "service_id": world.service.pk,
        "username": "member",
        "token_id": token.pk,
    }
    return clients, real


class Posts:
    """Posts, counted, each in a savepoint rolled back afterwards; 5xx answers and
    exceptions are collected, not raised, so one run reports them all."""

    def __init__(self, clients):
        self.clients = clients
        self.count = 0
        self.server_errors: list[str] = []

    def post(self, url: str, data: dict, what: str) -> None:
        for role, client in self.clients.items():
            self.count += 1
            with transaction.atomic():
                try:
                    status = client.post(url, data).status_code
                except Exception as exc:  # an unhandled error: a 500 in production
                    status = f"{exc.__class__.__name__}: {str(exc)[:200]}"
                transaction.set_rollback(True)
            if not isinstance(status, int) or status >= 500:
                self.server_errors.append(f"{role} POST {url[:120]} {what[:200]} -> {status}")


def url_for(view: str, kwargs: dict) -> str:
    """The view's URL with `kwargs`, which need not match its converters (a hostile name is
    put in the path as the client would send it, percent-encoded)."""
    sentinels = {
        name: f"zz{name.replace('_', '')}zz"
        if name in ("shortname", "username")
        else 900_000_000_000 + n
        for n, name in enumerate(kwargs)
    }
    url = reverse(view, kwargs=sentinels)
    for name, sentinel in sentinels.items():
        url = url.replace(f"/{sentinel}/", f"/{quote(str(kwargs[name]), safe='')}/")
    return url


@pytest.mark.parametrize("view", sorted(POST_VIEWS))
def test_the_corpus_against_every_form_as_every_role(view, seeded):
    """Figure: for each POST view, 6 roles x (1 empty post + 23 corpus values in every
    field + each URL argument replaced by each hostile value: 2 or 3 per id or project,
    8 per username) -> 0 answers >= 500."""
    clients, real = seeded
    posts = Posts(clients)
    own = {name: real[name] for name in POST_VIEWS[view]}
    url = url_for(view, own)

    posts.post(url, {}, "no fields")
    for value in CORPUS:
        posts.post(url, {field: value for field in FIELDS}, f"every field = {value!r}")
    hostile_urls = 0
    for name in POST_VIEWS[view]:
        for value in HOSTILE_URL_VALUES[name]:
            posts.post(url_for(view, own | {name: value}), {}, f"{name}={value!r}")
            hostile_urls += 1

    assert posts.count == len(ROLES) * (1 + len(CORPUS) + hostile_urls)
    assert posts.server_errors == []


def hostile_kwargs(view: str, real: dict):
    """The view's URL arguments: each real, or hostile where the converter allows it."""
    choices = {}
    for name in POST_VIEWS[view]:
        if name == "shortname":
            choices[name] = st.sampled_from([real[name], "other", "nope"])
        elif name == "username":
            choices[name] = st.sampled_from([real[name], "padmin", *HOSTILE_NAMES])
        else:  # <int:...>: any digits
            choices[name] = st.sampled_from([real[name], *HOSTILE_IDS])
    return st.fixed_dictionaries(choices)


values = st.one_of(
    st.sampled_from(CORPUS), st.sampled_from(FRIENDLY), st.text(max_size=40), st.integers().map(str)
)
field_value = st.one_of(values, st.lists(values, min_size=2, max_size=3))
form_data = st.dictionaries(st.sampled_from(FIELDS), field_value, max_size=len(FIELDS))


@pytest.mark.parametrize("view", sorted(POST_VIEWS))
def test_random_posts_to_every_form_as_every_role(view, seeded):
    """Figure: for each POST view, 8 Hypothesis examples (random fields, values and URL
    arguments) x 6 roles = 48 posts -> 0 answers >= 500."""
    clients, real = seeded
    posts = Posts(clients)

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(kwargs=hostile_kwargs(view, real), payload=form_data)
    def post(kwargs, payload):
        posts.post(url_for(view, kwargs), payload, f"{kwargs} {payload!r}")

    post()

    assert posts.count == EXAMPLES * len(ROLES) == 48
    assert posts.server_errors == []
