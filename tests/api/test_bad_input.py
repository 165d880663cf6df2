"""Nothing a client sends produces a 500: every endpoint that takes a body answers 400 in
the error shape to malformed JSON, a body that is not an object, an unknown field, a
value of the wrong type and a lone surrogate in any string or key, and 413 to a body over
the upload limit; ids that are not ids are 404; an access list longer than any policy can
hold is refused at once."""

import json

import pytest
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import JSONRenderer

from docker_repos.access import MAX_ACCESS_ENTRIES
from docker_repos.models import RepoAccess, RobotAccount
from docker_repos.policy import ECR_POLICY_MAX_CHARS, placeholder_user_arn
from hub.api.exceptions import api_exception_handler
from hub.exceptions import InvalidInput

from .matrix import assert_error_shape, call
from .support import API, client_for, make_repo
from .test_matrix import ENDPOINTS

# The rows a hub admin may call with a body (the endpoints' successful requests).
BODY_ROWS = [
    e for e in ENDPOINTS if e.body is not None and e.expect["hub_admin"] < 400 and not e.label
]

# The unsafe rows a hub admin may call without a body (retry, rotate, DELETE, ...).
NO_BODY_ROWS = [
    e
    for e in ENDPOINTS
    if e.body is None and e.method != "get" and e.expect["hub_admin"] < 400 and not e.label
]

BAD_BODIES = {
    "malformed JSON": '{"name": ',
    "a list": "[]",
    "a string": '"web"',
    "null": "null",
    "a number": "1e999",
    "NaN": '{"name": NaN}',
    "deeply nested": "[" * 50_000 + "]" * 50_000,
    "not UTF-8": b'{"name": "\xff\xfe"}',
    "an unknown field": '{"zzz_unknown": 1}',
}


def test_every_endpoint_with_a_body_is_covered():
    assert len(BODY_ROWS) >= 8
    assert len(NO_BODY_ROWS) >= 4


@pytest.mark.parametrize("endpoint", BODY_ROWS, ids=[e.id for e in BODY_ROWS])
@pytest.mark.parametrize("bad", list(BAD_BODIES))
def test_bad_bodies_are_400(world, endpoint, bad):
    client = client_for(world.users["hub_admin"])
    url = endpoint.url(world) if callable(endpoint.url) else endpoint.url
    body = BAD_BODIES[bad]
    response = client.generic(
        endpoint.method.upper(),
        url,
        body if isinstance(body, bytes) else body.encode(),
        content_type="application/json",
    )
    assert response.status_code == 400, response.content
    assert_error_shape(response)


@pytest.mark.parametrize("endpoint", BODY_ROWS, ids=[e.id for e in BODY_ROWS])
def test_a_body_over_the_upload_limit_is_413(world, endpoint, settings):
    """Django refuses to read it (RequestDataTooBig): the error shape, not a 500."""
    client = client_for(world.users["hub_admin"])
    url = endpoint.url(world) if callable(endpoint.url) else endpoint.url
    padding = "x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    response = client.generic(
        endpoint.method.upper(),
        url,
        json.dumps({"zzz_padding": padding}).encode(),
        content_type="application/json",
    )
    assert response.status_code == 413, response.content[:300]
    error = assert_error_shape(response)
    assert error["code"] == "request_too_large"
    assert str(settings.DATA_UPLOAD_MAX_MEMORY_SIZE) in error["message"]


@pytest.mark.parametrize("endpoint", BODY_ROWS, ids=[e.id for e in BODY_ROWS])
def test_every_field_of_the_wrong_type_is_400(world, endpoint):
    client = client_for(world.users["hub_admin"])
    url = endpoint.url(world) if callable(endpoint.url) else endpoint.url
    good = endpoint.body(world) if callable(endpoint.body) else endpoint.body
    for field in good:
        for wrong in ({"x": 1}, [[]], 10**40, -1.5, None, True):
            if type(wrong) is type(good[field]):
                continue
            response = call(client, endpoint.method, url, {**good, field: wrong})
            assert response.status_code == 400, (field, wrong, response.content)
            assert_error_shape(response)


@pytest.mark.parametrize(
    "path",
    [
        "docker-repos/abc/",
        "docker-repos/-1/",
        "docker-repos/1.0/",
        "docker-repos/0x10/",
        "docker-repos/" + "9" * 19 + "/",
        "docker-repos/" + "9" * 18 + "/",
        "docker-repos/%00/",
        "docker-repos/1/robots/abc/credentials/",
        "projects/acp/services/" + "9" * 40 + "/",
        "projects/" + "x" * 300 + "/",
        "projects/acp/members/" + "ü" * 200 + "/",
        "projects/%F0%9F%92%A5/",
        "projects/acp/members/mem%00ber/",
        "projects/acp/members/%0A/",
        "projects/ac%00p/",
    ],
)
def test_ids_that_are_not_ids_are_404(world, path):
    make_repo(world)
    response = client_for(world.users["hub_admin"]).get(f"{API}{path}")
    assert response.status_code == 404, response.content
    assert_error_shape(response)


@pytest.mark.parametrize(
    "query",
    [
        "page=abc",
        "page=0",
        "page=-1",
        "page=" + "9" * 40,
        "page_size=abc",
        "page_size=-5",
        "page_size=" + "9" * 40,
    ],
)
def test_odd_page_parameters_are_never_a_500(world, query):
    response = client_for(world.users["hub_admin"]).get(f"{API}projects/?{query}")
    assert response.status_code in (200, 404), response.content
    if response.status_code == 404:
        assert_error_shape(response)


def test_methods_an_endpoint_does_not_have_are_405(world):
    client = client_for(world.users["hub_admin"])
    for method in ("PUT", "DELETE", "PATCH", "OPTIONS"):
        response = client.generic(method, f"{API}projects/")
        assert response.status_code == 405
        assert assert_error_shape(response)["code"] == "method_not_allowed"


# --- An access list longer than any repository policy can hold --------------------------


def access_url_of(world) -> str:
    return f"{API}docker-repos/{make_repo(world).pk}/access/"


@pytest.mark.parametrize("which", ["robots", "users"])
def test_a_huge_access_list_is_refused_at_once(world, django_assert_max_num_queries, which):
    """20,000 names: refused from the list's length, before one query per entry (which
    ran inside the repository's lock for half a minute)."""
    client = client_for(world.users["project_admin"])
    url = access_url_of(world)
    entries = (
        [{"name": f"robot-{n}"} for n in range(20_000)]
        if which == "robots"
        else [{"username": f"person-{n}"} for n in range(20_000)]
    )
    body = {"robots": [], "users": []} | {which: entries}
    with django_assert_max_num_queries(5):
        response = call(client, "put", url, body)
    assert response.status_code == 400, response.content[:300]
    error = assert_error_shape(response)
    assert error["code"] == "invalid"
    assert f"at most {MAX_ACCESS_ENTRIES} robots and people" in error["message"]
    assert "20000" in error["message"]
    assert not RobotAccount.objects.exists() and not RepoAccess.objects.exists()


def test_an_access_list_at_the_limit_gets_the_policy_size_message(world):
    client = client_for(world.users["project_admin"])
    body = {"robots": [{"name": f"robot-{n}"} for n in range(MAX_ACCESS_ENTRIES)], "users": []}
    response = call(client, "put", access_url_of(world), body)
    assert response.status_code == 400, response.content[:300]
    error = assert_error_shape(response)
    assert "character repository policy; ECR allows 10240" in error["message"]
    assert not RobotAccount.objects.exists()


def test_the_length_limit_fits_what_ecr_allows():
    """Every principal's ARN costs at least 50 characters of the policy: a list past the
    limit can never fit, so refusing it by length refuses nothing that would work."""

    shortest = len(placeholder_user_arn("hub-user-x")) + len('"",')
    assert shortest >= 50
    assert (MAX_ACCESS_ENTRIES + 1) * shortest > ECR_POLICY_MAX_CHARS


# --- Strings that are not Unicode: lone surrogates ---------------------------------------

SURROGATE = "\\ud800"  # as a client sends it: the JSON escape, which json.loads accepts
MARK = "\x00surrogate\x00"


def with_each_string_replaced(value, path=()):
    """(path, copy of `value` with one leaf, or one key, replaced by MARK) for every leaf
    and key, nested ones included."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield (
                (*path, f"key {key}"),
                {**{k: v for k, v in value.items() if k != key}, MARK: item},
            )
            for sub_path, replaced in with_each_string_replaced(item, (*path, key)):
                yield sub_path, {**value, key: replaced}
    elif isinstance(value, list):
        for index, item in enumerate(value):
            for sub_path, replaced in with_each_string_replaced(item, (*path, index)):
                yield sub_path, [*value[:index], replaced, *value[index + 1 :]]
    else:
        yield path, MARK


def surrogate_bodies(good):
    for path, body in with_each_string_replaced(good):
        text = json.dumps(body).replace(json.dumps(MARK), f'"{SURROGATE}"')
        yield path, text
        yield (*path, "inside text"), text.replace(SURROGATE, f"ok {SURROGATE} ok")


@pytest.mark.parametrize("endpoint", BODY_ROWS, ids=[e.id for e in BODY_ROWS])
def test_a_lone_surrogate_anywhere_in_a_body_is_400(world, endpoint):
    client = client_for(world.users["hub_admin"])
    url = endpoint.url(world) if callable(endpoint.url) else endpoint.url
    good = endpoint.body(world) if callable(endpoint.body) else endpoint.body
    for path, text in surrogate_bodies(good):
        response = client.generic(
            endpoint.method.upper(), url, text.encode(), content_type="application/json"
        )
        assert response.status_code == 400, (path, text, response.content[:300])
        error = assert_error_shape(response)
        assert error["code"] == "parse_error", (path, error)


@pytest.mark.parametrize("endpoint", NO_BODY_ROWS, ids=[e.id for e in NO_BODY_ROWS])
def test_a_lone_surrogate_sent_where_no_body_is_taken_is_400(world, endpoint):
    client = client_for(world.users["hub_admin"])
    url = endpoint.url(world) if callable(endpoint.url) else endpoint.url
    for text in ('{"\\ud800": 1}', '{"x": "\\ud800"}', '"\\ud800"'):
        response = client.generic(
            endpoint.method.upper(), url, text.encode(), content_type="application/json"
        )
        assert response.status_code == 400, (text, response.content[:300])
        assert assert_error_shape(response)["code"] == "parse_error"


MEMBER = f"{API}projects/acp/members/member/"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("patch", f"{API}projects/acp/", '{"repo_management": "\\ud800"}'),
        ("patch", MEMBER, '{"role": "\\ud800"}'),
        ("patch", MEMBER, '{"role": "\\udfff"}'),
        ("patch", MEMBER, '{"role": "x\\udc00\\ud83d"}'),
        ("patch", MEMBER, '{"\\ud800": "admin"}'),
        ("patch", MEMBER, '["\\ud800"]'),
        ("patch", MEMBER, '"\\ud800"'),
        (
            "post",
            f"{API}projects/acp/docker-repos/",
            '{"name": "web", "tag_mutability": "\\ud800"}',
        ),
        ("post", f"{API}projects/acp/docker-repos/", '{"name": "web", "description": "\\ud800"}'),
    ],
)
def test_the_reported_surrogates_are_400(world, method, path, body):
    client = client_for(world.users["hub_admin"])
    response = client.generic(method.upper(), path, body.encode(), content_type="application/json")
    assert response.status_code == 400, response.content
    error = assert_error_shape(response)
    assert error["code"] == "parse_error" and "lone surrogate" in error["message"]


def test_a_surrogate_pair_is_an_ordinary_character(world):
    """An escaped pair is one character (here an emoji): not refused for being escaped."""
    client = client_for(world.users["hub_admin"])
    response = client.generic(
        "PATCH",
        f"{API}projects/acp/",
        b'{"description": "ship it \\ud83d\\ude80"}',
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["description"] == "ship it \U0001f680"


def test_an_error_that_quotes_a_surrogate_still_renders(rf):
    """Whatever slips past the parser: the error answer itself can always be encoded."""

    cases = [
        (
            ValidationError({"role": ['"\ud800" is not a valid choice.']}),
            {"role": ['"\\ud800" is not a valid choice.']},
        ),
        (ValidationError({"\udfff": ["Unknown field."]}), {"\\udfff": ["Unknown field."]}),
        (
            InvalidInput("No such person: \ud800.", fields={"users": ["\ud800"]}),
            {"users": ["\\ud800"]},
        ),
    ]
    for exc, fields in cases:
        response = api_exception_handler(exc, {"view": None, "request": rf.get("/")})
        error = json.loads(JSONRenderer().render(response.data))["error"]
        assert response.status_code == 400
        assert error["fields"] == fields
        assert "\\ud" in error["message"]
