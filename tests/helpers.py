"""Small helpers shared by the tests."""

import html
import re
import threading

from django.apps import apps
from django.db import connections
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


def shown_page(response) -> str:
    """The page a 200 answered with: a "secret not in the page" check means something only
    on the page itself, not on an error page or a redirect."""
    assert response.status_code == 200, (response.status_code, page(response)[:500])
    return page(response)


def assert_shows(response, text: str) -> None:
    """`text` appears in the page as the browser shows it (HTML-escaped in the source)."""
    body = page(response)
    assert escape(text) in body, f"{text!r} not in the page:\n{body}"


def race(work, count: int) -> list:
    """Run `work(index)` in `count` threads released together; each outcome (a result or
    the exception raised) in index order."""
    start = threading.Barrier(count, timeout=30)
    outcomes: list = [None] * count

    def run(index: int) -> None:
        try:
            start.wait()
            outcomes[index] = work(index)
        except Exception as exc:  # every outcome is checked by the caller
            outcomes[index] = exc
        finally:
            connections.close_all()  # this thread's own connection

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    return outcomes


def live_polls(body: str) -> dict[str, str]:
    """{element id: the URL it polls (hx-get)} of every live fragment in the page."""

    found = {}
    for tag in re.findall(r"<[a-z]+\s[^>]*\bhx-get=\"[^\"]*\"[^>]*>", body):
        element_id = re.search(r'\bid="([^"]+)"', tag)
        url = re.search(r'\bhx-get="([^"]+)"', tag).group(1)
        found[element_id.group(1) if element_id else ""] = html.unescape(url)
    return found
