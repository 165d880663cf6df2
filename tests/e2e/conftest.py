"""Fixtures of the browser tests: one running hub (see stack.py) and one headless Chromium
for the whole run; a fresh browser context (a person with an empty cookie jar) per page.

Chromium is Debian's (`/usr/bin/chromium`, or HUB_E2E_CHROMIUM); Playwright's own
browser download is never used. `HUB_E2E_DOCS_SCREENSHOTS=1` (`make screenshots`) also
writes the README's screens into docs/screenshots/.
"""

import os
import re
import shutil
from pathlib import Path

import pytest

from tests.procs import ROOT

from .stack import running_hub

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # the `e2e` extra is not installed (`make e2e` installs it)
    collect_ignore_glob = ["test_*.py"]

CHROMIUM = os.environ.get("HUB_E2E_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = ROOT / "var" / "e2e-screenshots"
DOCS_SCREENSHOTS = ROOT / "docs" / "screenshots"
# The README's screens: saved into docs/screenshots/ too under `make screenshots`.
DOCS_SCREENS = {"project-repos", "manage-access", "connected-identities", "phone-project-repos"}
VIEWPORT = {"width": 1280, "height": 860}
TIMEOUT_MS = 10_000  # every action and expectation, unless a step says otherwise


@pytest.fixture(scope="session")
def hub(tmp_path_factory):
    """The running hub (web, worker, moto behind a relay); stopped after the run."""

    with running_hub(tmp_path_factory.mktemp("hub")) as running:
        yield running


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).is_file():
        pytest.fail(
            f"No Chromium at {CHROMIUM}: `apt-get install -y chromium` (Debian's "
            "package; Playwright's own browser download does not work here)."
        )

    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as pw:
        # launch() gives Chromium a fresh, empty user data dir of its own, removed on close.
        chromium = pw.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, timeout=60_000
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="session", autouse=True)
def _screenshot_dirs():
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    if os.environ.get("HUB_E2E_DOCS_SCREENSHOTS") == "1":
        DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)


@pytest.fixture
def new_page(browser, hub, request):
    """`new_page()`: a page in a context of its own, so two people can be signed in at once
    (`new_page(viewport={"width": 390, "height": 844})` for a phone's screen).

    JavaScript errors on any page fail the test; on failure every open page is saved as a
    screenshot `FAILED-...png` and the processes' logs are added to the report."""
    contexts, errors = [], []

    def make(viewport=None):
        context = browser.new_context(
            base_url=hub.url,
            viewport=viewport or VIEWPORT,
            permissions=["clipboard-read", "clipboard-write"],
        )
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(f"{page.url}: {exc}"))
        contexts.append(context)
        return page

    yield make
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        name = _slug(request.node.name)
        for number, context in enumerate(contexts):
            for page in context.pages:
                page.screenshot(path=SCREENSHOTS / f"FAILED-{name}-{number}.png", full_page=True)
    for context in contexts:
        context.close()
    assert not errors, "JavaScript errors in the page:\n" + "\n".join(errors)


@pytest.fixture
def page(new_page):
    return new_page()


@pytest.fixture
def shot():
    """`shot(page, name)`: a full-page screenshot var/e2e-screenshots/<name>.png (and, for
    the README's screens under `make screenshots`, docs/screenshots/<name>.png)."""

    def take(page, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=path, full_page=True)
        if name in DOCS_SCREENS and os.environ.get("HUB_E2E_DOCS_SCREENSHOTS") == "1":
            shutil.copyfile(path, DOCS_SCREENSHOTS / f"{name}.png")
        return path

    return take


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    if report.failed and "hub" in getattr(item, "funcargs", {}):
        report.sections.append(("hub processes (end of each log)", item.funcargs["hub"].logs()))
    return report


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")[:80]
