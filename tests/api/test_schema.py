"""The OpenAPI document describes exactly what is implemented, and /api/docs/ renders it
from assets the hub serves itself."""

import re
from html.parser import HTMLParser

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from hub.api.views import NotFoundView

METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    with django_db_blocker.unblock():
        response = Client().get("/api/schema/?format=json")
    assert response.status_code == 200
    return response.json()


def test_the_schema_generates_without_warnings(tmp_path):
    # --fail-on-warn: any endpoint spectacular cannot describe fails the test.
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml")
    )


def api_operations() -> set[tuple[str, str]]:
    """(path, method) of every endpoint mounted under /api/v1/, from the URL patterns."""
    found = set()

    def walk(patterns, prefix):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern):
                view = getattr(pattern.callback, "view_class", None)
                if view is None or view is NotFoundView or not route.startswith("api/v1/"):
                    continue
                path = "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)
                found.update((path, m) for m in METHODS if hasattr(view, m))

    walk(get_resolver().url_patterns, "")
    return found


def test_every_endpoint_is_in_the_schema_and_nothing_else(schema):
    documented = {
        (path, method)
        for path, item in schema["paths"].items()
        for method in item
        if method in METHODS
    }
    assert documented == api_operations()
    assert len(documented) >= 25


def test_every_operation_documents_its_errors_in_the_error_shape(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            assert {"401", "429"} <= responses.keys(), f"{method} {path}"
            if "{" in path:
                assert "404" in responses, f"{method} {path}"
            if "requestBody" in operation:
                assert "400" in responses, f"{method} {path}"
            for status, response in responses.items():
                if status >= "400":
                    content = response["content"]["application/json"]
                    assert content["schema"] == {"$ref": "#/components/schemas/Error"}
                    assert content["examples"], f"{method} {path} {status}"
                    assert response["description"]


def test_the_contracts_status_codes_are_documented(schema):
    paths = schema["paths"]
    assert "201" in paths["/api/v1/projects/"]["post"]["responses"]
    assert "202" in paths["/api/v1/docker-repos/{repo_id}/"]["delete"]["responses"]
    assert "409" in paths["/api/v1/docker-repos/{repo_id}/retry/"]["post"]["responses"]
    assert "204" in paths["/api/v1/projects/{shortname}/members/{username}/"]["delete"]["responses"]
    assert (
        "409" in paths["/api/v1/projects/{shortname}/services/{service_id}/"]["delete"]["responses"]
    )
    repos = paths["/api/v1/projects/{shortname}/docker-repos/"]["get"]["responses"]["200"]
    assert repos["content"]["application/json"]["schema"]["$ref"].endswith("PaginatedRepoList")


def test_request_bodies_refuse_unknown_fields(schema):
    components = schema["components"]["schemas"]
    requests = [name for name in components if name.endswith("Request")]
    assert requests
    for name in requests:
        assert components[name]["additionalProperties"] is False, name


def test_the_error_component(schema):
    error = schema["components"]["schemas"]["ErrorDetail"]
    assert set(error["required"]) == {"code", "message", "fields"}


def test_token_and_session_authentication_are_described(schema):
    schemes = schema["components"]["securitySchemes"]
    assert schemes["tokenAuth"] == {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": "A personal API token, sent as `Token <token>`.",
    }
    assert "cookieAuth" in schemes


class Assets(HTMLParser):
    def __init__(self):
        super().__init__()
        self.urls = []

    def handle_starttag(self, tag, attrs):
        # What the page loads (not where its links lead).
        for name, value in attrs:
            if (name == "src" or (tag == "link" and name == "href")) and value:
                self.urls.append(value)


def test_the_docs_page_loads_only_the_hubs_own_assets(db):
    client = Client()
    response = client.get("/api/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "http://" not in page and "https://" not in page and "//cdn" not in page
    parser = Assets()
    parser.feed(page)
    assert parser.urls
    for url in parser.urls:
        assert url.startswith(("/static/", "/api/")), url
        asset = client.get(url)
        assert asset.status_code == 200, url
        if url.startswith("/api/docs/"):
            script = asset.content.decode()
            assert "/api/schema/" in script
            assert "http://" not in script and "https://" not in script


def test_the_docs_page_is_in_the_hubs_frame_with_a_way_back(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("reader"))
    page = client.get("/api/docs/").content.decode()
    assert '<html lang="en">' in page
    assert '<main id="main"' in page and "<h1>Platform Hub API</h1>" in page
    assert '<a href="/projects/">Back to the hub</a>' in page
    assert "API.md" not in page and "API.md" not in client.get("/api/schema/").content.decode()
