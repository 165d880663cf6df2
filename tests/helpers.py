"""Small helpers shared by the tests."""

from django.apps import apps
from django.utils.html import escape

# Every table whose rows a page of the hub may change (auth: users; the rest: the hub's).
STATE_APPS = ("auth", "hub", "projects", "identities", "docker_repos")


def db_state() -> dict[str, list[tuple]]:
    """Every row of every model of STATE_APPS, to compare before and after a request.

    New models of these apps are included automatically."""
    state = {}
    for model in apps.get_models():
        if model._meta.app_label in STATE_APPS:
            state[model._meta.label] = list(model._base_manager.order_by("pk").values_list())
    return state


def state_diff(before: dict, after: dict) -> dict:
    """The tables that differ, with the rows only in one side (for assertion messages)."""
    diff = {}
    for label in before.keys() | after.keys():
        old, new = set(map(repr, before.get(label, []))), set(map(repr, after.get(label, [])))
        if old != new:
            diff[label] = {"removed": sorted(old - new), "added": sorted(new - old)}
    return diff


def page(response) -> str:
    return response.content.decode()


def assert_shows(response, text: str) -> None:
    """`text` appears in the page as the browser shows it (HTML-escaped in the source)."""
    body = page(response)
    assert escape(text) in body, f"{text!r} not in the page:\n{body}"
