"""Every page of the hub on a phone's screen (390×844) and through axe-core, as a visitor
who is signed out, a project admin (alice), a plain member (bob) and someone in no project
(carol): sign-in and the other account pages, every project tab, a repository with a robot
and access, the forms (also with their errors), the API docs and the 403, 404 and 500 pages.

- No page is wider than the phone: `document.documentElement.scrollWidth <= 390` (what
  does not fit scrolls inside its own box, e.g. a long command).
- axe-core (the copy inside axe-playwright-python's wheel; nothing is fetched) finds no
  serious or critical violation, on the phone and on a desktop screen. Swagger UI's own
  widget (`#swagger-ui` on the API docs page) is left out: its markup and colours are the
  library's, not the hub's (63 serious contrast and nesting findings); the page around it
  (header, way back to the hub, landmarks, language) is the hub's and is checked.

Every figure is also written to var/e2e-screenshots/pages-report.json.
"""

import json
import re
from dataclasses import dataclass, field

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from .conftest import SCREENSHOTS, VIEWPORT
from .guide import (
    ensure_active_repo,
    expect_status,
    open_manage_access,
    open_project,
    open_repos_tab,
    person_row,
    robot_row,
    save_access,
    sign_in,
)

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
SERIOUS = {"serious", "critical"}
# Swagger UI's markup is the library's (see the module's docstring).
AXE_EXCLUDE = [["#swagger-ui"]]
REPO = "pages-tour"
ROBOT = "tour-ci"


@dataclass
class Findings:
    """What each visited page measured: its width at 390 px and axe's serious findings."""

    widths: dict[str, int] = field(default_factory=dict)
    violations: dict[str, list[str]] = field(default_factory=dict)

    def check(self, page: Page, name: str) -> None:
        page.set_viewport_size(PHONE)
        page.wait_for_load_state("load")
        self.widths[name] = page.evaluate("document.documentElement.scrollWidth")
        found = []
        for size in (PHONE, VIEWPORT):
            page.set_viewport_size(size)
            results = Axe().run(page, context={"exclude": AXE_EXCLUDE})
            found += [
                f"{size['width']}px {v['id']} ({v['impact']}, {len(v['nodes'])}×): "
                + "; ".join(
                    n["target"][0] if isinstance(n["target"][0], str) else str(n["target"][0])
                    for n in v["nodes"][:3]
                )
                for v in results.response["violations"]
                if v["impact"] in SERIOUS
            ]
        self.violations[name] = found
        page.set_viewport_size(PHONE)

    def visit(self, page: Page, name: str, path: str, status: int = 200) -> None:
        response = page.goto(path)
        assert response is not None and response.status == status, (
            f"{name}: {path} answered {response and response.status}, not {status}"
        )
        self.check(page, name)

    def report(self) -> dict:
        serious = {name: found for name, found in self.violations.items() if found}
        return {
            "pages": len(self.widths),
            "widest": max(self.widths.items(), key=lambda item: item[1]),
            "too_wide": {n: w for n, w in self.widths.items() if w > PHONE["width"]},
            "serious_or_critical": sum(
                int(re.search(r"\((?:serious|critical), (\d+)×\)", f).group(1))
                for found in serious.values()
                for f in found
            ),
            "violations": serious,
            "widths": self.widths,
        }


def _path(page: Page) -> str:
    return re.sub(r"^https?://[^/]+", "", page.url)


def _prepare_repo(page: Page) -> dict[str, str]:
    """alice's repository with a robot, and pull for bob: the addresses of its pages."""
    open_project(page, "acp")
    open_repos_tab(page)
    row = ensure_active_repo(page, "acp", service="billing", name=REPO)
    paths = {"repos": _path(page)}
    row.get_by_role("link", name=f"acp / {REPO}", exact=True).click()
    paths["repo"] = _path(page)
    page.go_back()
    if page.get_by_role("table", name=f"Robot accounts of acp/{REPO}").count() == 0:
        open_manage_access(page, "acp", REPO)
        page.get_by_label("Add robot accounts").fill(ROBOT)
        page.get_by_label("bob may pull").check()
        save_access(page, "acp", REPO)
    else:
        page.goto(paths["repo"])
    expect_status(robot_row(page, f"acp/{REPO}", ROBOT), "Active")
    expect_status(person_row(page, f"acp/{REPO}", "bob"), "Active")
    paths["access"] = paths["repo"] + "access/"
    paths["delete"] = paths["repo"] + "delete/"
    paths["robot"] = page.get_by_role("link", name=f"Snippets for {ROBOT}").get_attribute("href")
    page.goto("/projects/acp/services/")
    paths["service-edit"] = page.get_by_role("link", name="Edit billing").get_attribute("href")
    # billing has repositories, so its Delete is a disabled button (with the reason); the
    # page behind it still answers, and says the same.
    paths["service-delete"] = paths["service-edit"].replace("/edit/", "/delete/")
    return paths


def test_every_page_fits_a_phone_and_passes_axe(new_page, hub, shot):
    found = Findings()

    # Signed out: the account pages a visitor can reach.
    visitor = new_page(viewport=PHONE)
    found.visit(visitor, "sign-in", "/accounts/login/")
    shot(visitor, "phone-sign-in")
    visitor.get_by_label("Username or email").fill("alice")
    visitor.get_by_label("Password").fill("not her password")
    visitor.get_by_role("button", name="Sign In").click()
    expect(visitor.get_by_role("alert")).to_contain_text("not correct")
    found.check(visitor, "sign-in, wrong password")
    found.visit(visitor, "sign-up", "/accounts/signup/")
    # Each error sits under the field it is about (and is that field's description).
    visitor.get_by_label("Email").fill("someone@example.com")
    visitor.get_by_label("Username").fill("alice")  # taken
    visitor.get_by_label("Password", exact=True).fill("a-long-enough-passphrase-1")
    visitor.get_by_label("Password (again)").fill("a-long-enough-passphrase-2")
    visitor.get_by_role("button", name="Sign Up").click()
    username = visitor.get_by_label("Username")
    expect(username).to_have_attribute("aria-invalid", "true")
    expect(username).to_have_accessible_description(re.compile("already exists"))
    expect(visitor.get_by_label("Password (again)")).to_have_accessible_description(
        re.compile("same password")
    )
    expect(visitor.get_by_label("Password", exact=True)).not_to_have_attribute(
        "aria-invalid", "true"
    )
    found.check(visitor, "sign-up, with errors")
    found.visit(visitor, "password reset", "/accounts/password/reset/")
    found.visit(visitor, "password reset sent", "/accounts/password/reset/done/")
    found.visit(visitor, "password reset, bad link", "/accounts/password/reset/key/1-bad/")
    found.visit(visitor, "email confirmation, bad link", "/accounts/confirm-email/bad/")

    # A project admin: every tab, the repository's pages and the forms.
    alice = new_page()
    sign_in(alice, hub.people["alice"])
    paths = _prepare_repo(alice)
    alice.set_viewport_size(PHONE)
    for name, path in [
        ("projects", "/projects/"),
        ("project overview", "/projects/acp/"),
        ("services", "/projects/acp/services/"),
        ("service edit", paths["service-edit"]),
        ("service delete", paths["service-delete"]),
        ("repos", paths["repos"]),
        ("repo request", paths["repos"] + "new/"),
        ("repo", paths["repo"]),
        ("manage access", paths["access"]),
        ("robot", paths["robot"]),
        ("repo delete", paths["delete"]),
        ("activity", "/projects/acp/activity/"),
        ("connected identities", "/identities/"),
        ("api tokens", "/identities/api-tokens/"),
        ("password change", "/accounts/password/change/"),
        ("email addresses", "/accounts/email/"),
        ("account connections", "/accounts/3rdparty/"),
        ("sign-out", "/accounts/logout/"),
        ("api docs", "/api/docs/"),
    ]:
        found.visit(alice, name, path)
    shot(alice, "phone-sign-out")
    alice.goto(paths["repos"])
    shot(alice, "phone-project-repos")  # one of the README's screens
    alice.goto(paths["repo"])
    shot(alice, "phone-repo")
    # Forms with their errors.
    alice.goto(paths["repos"] + "new/")
    alice.get_by_role("button", name="Request repository").click()
    found.check(alice, "repo request, with errors")
    alice.goto(paths["access"])
    alice.get_by_label("Add robot accounts").fill("Not A Name")
    alice.get_by_role("button", name="Save", exact=True).click()
    found.check(alice, "manage access, with errors")
    found.visit(alice, "404", "/projects/no-such-project/", status=404)
    found.visit(alice, "500", "/e2e/fail/", status=500)

    # A plain member, and someone in no project.
    bob = new_page(viewport=PHONE)
    sign_in(bob, hub.people["bob"])
    for name, path in [
        ("member: project", "/projects/acp/"),
        ("member: repos", paths["repos"]),
        ("member: repo", paths["repo"]),
        ("member: identities", "/identities/"),
    ]:
        found.visit(bob, name, path)
    found.visit(bob, "member: activity (403)", "/projects/acp/activity/", status=403)
    carol = new_page(viewport=PHONE)
    sign_in(carol, hub.people["carol"])
    found.visit(carol, "outsider: projects", "/projects/")
    found.visit(carol, "outsider: a project (404)", "/projects/acp/", status=404)
    found.visit(carol, "outsider: identities", "/identities/")

    report = found.report()
    (SCREENSHOTS / "pages-report.json").write_text(json.dumps(report, indent=2))
    print(json.dumps({k: report[k] for k in ("pages", "widest", "serious_or_critical")}))
    assert not report["too_wide"], f"wider than {PHONE['width']} px: {report['too_wide']}"
    assert not report["violations"], "axe: serious or critical:\n" + json.dumps(
        report["violations"], indent=2
    )
