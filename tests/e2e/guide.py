"""The user guide's steps as a person does them in the browser: by the names on the
screen (roles, labels, text). The few values that have no label of their own (an access
key, a command to paste) are found by the ids their Copy buttons point at.

The hub shows tab and button names in capitals (CSS `text-transform`), as the guide
writes them (`ALL DOCKER REPOS`); the accessible names keep their written case, so the
locators use that and `expect_shown_as` checks what a person actually reads.
"""

import re

from playwright.sync_api import Locator, Page, expect

from .stack import Person

# How long a repository may take to turn Active: the worker's retries are fast here.
CONVERGE_MS = 30_000


def sign_in(page: Page, person: Person) -> None:
    """The sign-in page, from the hub's front door."""
    page.goto("/")
    expect(page.get_by_role("heading", name="Sign In")).to_be_visible()
    page.get_by_label("Username or email").fill(person.username)
    page.get_by_label("Password").fill(person.password)
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("heading", name="Projects", exact=True)).to_be_visible()
    expect(page.get_by_role("group").filter(has_text=person.username)).to_be_visible()


def open_project(page: Page, shortname: str) -> None:
    """Projects list → the project's detail page."""
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Projects").click()
    page.get_by_role("table", name="Your projects").get_by_role(
        "link", name=shortname, exact=True
    ).click()
    expect(page.get_by_role("navigation", name="Project sections")).to_be_visible()


def repos_tab(page: Page) -> Locator:
    return page.get_by_role("navigation", name="Project sections").get_by_role(
        "link", name="All Docker repos"
    )


def open_repos_tab(page: Page) -> None:
    repos_tab(page).click()
    expect(repos_tab(page)).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("heading", name="All Docker repos")).to_be_visible()


def expect_shown_as(locator: Locator, text: str) -> None:
    """What a person reads on the screen (after CSS capitals), e.g. `ALL DOCKER REPOS`.

    Text only for screen readers (class visually-hidden, e.g. "MANAGE ACCESS<hidden> to
    acp/hello-world-app</hidden>") may follow it."""
    expect(locator).to_have_text(re.compile(rf"^\s*{re.escape(text)}(\s|$)"), use_inner_text=True)


def request_repo(page: Page, project: str, *, service: str, name: str) -> None:
    """`REQUEST NEW DOCKER REPO` → choose the service, type the name → back on the list."""
    page.get_by_role("link", name="Request new Docker repo").click()
    expect(page.get_by_role("heading", name="Request new Docker repo")).to_be_visible()
    page.get_by_label("Service").select_option(label=service)
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_role("button", name="Request repository").click()
    expect(page.get_by_role("heading", name="All Docker repos")).to_be_visible()
    # The "requested" notice goes once the row is Active, which may already be so.
    expect(repo_row(page, project, name)).to_have_count(1)


def repo_row(page: Page, project: str, name: str) -> Locator:
    """The list's row of repository `<project>/<name>` (its link reads `acp / name`)."""
    link = page.get_by_role("link", name=f"{project} / {name}", exact=True)
    return (
        page.get_by_role("table", name=f"Docker repositories of {project}")
        .get_by_role("row")
        .filter(has=link)
    )


def status_of(row: Locator) -> Locator:
    """The row's status label (the first column)."""
    return row.get_by_role("cell").first


def expect_status(row: Locator, label: str, *, timeout: int = CONVERGE_MS) -> None:
    expect(status_of(row)).to_have_text(label, timeout=timeout)


def request_active_repo(page: Page, project: str, *, service: str, name: str) -> Locator:
    """Request a repository on the repos tab and wait for the list to show it Active."""
    request_repo(page, project, service=service, name=name)
    row = repo_row(page, project, name)
    expect_status(row, "Active")
    return row


def ensure_active_repo(page: Page, project: str, *, service: str, name: str) -> Locator:
    """On the repos tab: the repository, requested first if an earlier scenario did not
    (so a scenario also runs on its own, e.g. with -k)."""
    row = repo_row(page, project, name)
    if row.count() == 0:
        request_repo(page, project, service=service, name=name)
    expect_status(row, "Active")
    return row


def open_manage_access(page: Page, project: str, name: str) -> None:
    """The row's `MANAGE ACCESS` button (its accessible name also names the repository)."""
    repo_row(page, project, name).get_by_role(
        "link", name=f"Manage access to {project}/{name}"
    ).click()
    expect(page.get_by_role("heading", name=f"Manage access {project}/{name}")).to_be_visible()


def save_access(page: Page, project: str, name: str) -> None:
    """`Save` on MANAGE ACCESS: back on the repository's page, which shows the access."""
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text(f"Access to {project}/{name} saved")
    expect(page.get_by_role("heading", name=f"{project}/{name}", exact=True)).to_be_visible()


def robot_row(page: Page, repo_full_name: str, robot: str) -> Locator:
    """The row of `robot` in the repository page's robot accounts."""
    return (
        page.get_by_role("table", name=f"Robot accounts of {repo_full_name}")
        .get_by_role("row")
        .filter(has=page.get_by_text(robot, exact=True))
    )


def person_row(page: Page, repo_full_name: str, username: str) -> Locator:
    """The row of `username` in the repository page's people with access."""
    return (
        page.get_by_role("table", name=f"People who may pull or push {repo_full_name}")
        .get_by_role("row")
        .filter(has=page.get_by_text(username, exact=True))
    )


def clipboard(page: Page) -> str:
    """What the page copied (the context may read the clipboard: see conftest)."""
    return page.evaluate("navigator.clipboard.readText()")
