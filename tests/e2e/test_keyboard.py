"""By keyboard and without surprises: the request and MANAGE ACCESS done with keys, the
focus kept while the page refreshes itself (htmx polls only the rows in flight and swaps
nothing while they are unchanged), a role that changes only with its own Save, a save
that would take someone's access away asked first, a secret shown once and a reload
that does not reveal it again, long names and descriptions that keep the buttons within
reach, and focus on the first error after a refused submit."""

import re

import pytest
from playwright.sync_api import Page, expect

from .guide import (
    CONVERGE_MS,
    expect_status,
    open_project,
    open_repos_tab,
    person_row,
    repo_row,
    sign_in,
)

pytestmark = pytest.mark.e2e

POLL_MS = 2_000  # hub/live.py POLL_SECONDS
WAIT_MS = 2 * POLL_MS + 1_500  # long enough for two polls (and their answers)


def focus_by_keyboard(page: Page, locator, *, limit: int = 80) -> None:
    """Tab from the top of the page until `locator` has the focus, as a person would."""
    page.locator("body").focus()
    target = locator.element_handle()
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(el) => document.activeElement === el", target):
            return
    raise AssertionError(f"Tab never reached {locator}")


def remember_focus(page: Page) -> str:
    """Keep the focused element itself (not a copy): it must still be the one afterwards."""
    return page.evaluate(
        "() => { window.__focused = document.activeElement; return document.activeElement.id }"
    )


def focus_unchanged(page: Page) -> bool:
    return page.evaluate(
        "() => document.activeElement === window.__focused "
        "&& document.activeElement !== document.body"
    )


def count_polls(page: Page) -> dict[str, list[int]]:
    """Every live poll's answer status, by the row or line it polled."""
    seen: dict[str, list[int]] = {}

    def on_response(response):
        if response.request.headers.get("hx-request") == "true":
            seen.setdefault(response.url.split("?", 1)[-1].split("&v=")[0], []).append(
                response.status
            )

    page.on("response", on_response)
    return seen


def request_by_keyboard(page: Page, *, service: str, name: str) -> None:
    focus_by_keyboard(page, page.get_by_role("link", name="Request new Docker repo"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Request new Docker repo")).to_be_visible()
    page.get_by_label("Service").focus()
    page.get_by_label("Service").select_option(label=service)
    page.keyboard.press("Tab")
    expect(page.get_by_label("Name", exact=True)).to_be_focused()
    page.keyboard.type(name)
    page.keyboard.press("Enter")  # submits the form
    expect(page.get_by_role("heading", name="All Docker repos")).to_be_visible()


def test_keyboard_request_and_manage_access_keep_focus_across_live_refreshes(page, hub, shot):
    sign_in(page, hub.people["alice"])
    open_project(page, "acp")
    open_repos_tab(page)
    request_by_keyboard(page, service="billing", name="kbd-settled")
    settled = repo_row(page, "acp", "kbd-settled")
    expect_status(settled, "Active")
    manage = settled.get_by_role("link", name="Manage access to acp/kbd-settled")

    polls = count_polls(page)
    hub.relay.hold()  # AWS answers slowly: the next request stays Pending for a while
    try:
        request_by_keyboard(page, service="billing", name="kbd-pending")
        pending = repo_row(page, "acp", "kbd-pending")
        expect_status(pending, "Pending", timeout=5_000)
        notice = page.get_by_role("status").get_by_text(
            "Repository acp/kbd-pending requested: it becomes Active in a few seconds."
        )
        expect(notice).to_be_visible()

        # Focus on another row's MANAGE ACCESS, by Tab; the pending row polls meanwhile.
        focus_by_keyboard(page, page.get_by_role("link", name="Manage access to acp/kbd-settled"))
        assert remember_focus(page).startswith("manage-access-")
        page.wait_for_timeout(WAIT_MS)
        assert focus_unchanged(page), "a live refresh took the focus away"
        answers = [s for key, s in polls.items() if key.startswith("repo=")]
        assert answers and len(answers[0]) >= 2, f"the pending row did not poll: {polls}"
        assert set(answers[0]) == {204}, "unchanged: nothing swapped"

        # Now on the pending row itself: its link keeps the focus when the row is swapped.
        pending.get_by_role("link", name="acp / kbd-pending").focus()
        remember_focus(page)
    finally:
        hub.relay.release()
    expect_status(pending, "Active", timeout=CONVERGE_MS)
    # The row was swapped (its old link is gone) and the focus is on the new row's link.
    assert page.evaluate("""() => !document.body.contains(window.__focused)
        && document.activeElement.matches('tr[data-repo="acp/kbd-pending"] a.mono')"""), (
        "the swapped row did not keep the focus on its link"
    )
    expect(notice).to_have_count(0)  # "becomes Active in a few seconds" went with it
    shot(page, "keyboard-1-focus-kept")

    # MANAGE ACCESS by keyboard: Enter on the link, Space on a checkbox, Enter to save.
    focus_by_keyboard(page, manage)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Manage access acp/kbd-settled")).to_be_visible()
    focus_by_keyboard(page, page.get_by_label("alice may pull"))
    page.keyboard.press("Space")
    expect(page.get_by_label("alice may pull")).to_be_checked()
    hub.relay.hold()  # the access stays Pending while we watch the focus
    try:
        focus_by_keyboard(page, page.get_by_role("button", name="Save", exact=True))
        page.keyboard.press("Enter")
        # The repository's page reads its images from ECR, which is held: it loads once
        # that read times out (HUB_AWS_READ_TIMEOUT, 15 s here).
        expect(page.get_by_role("status")).to_contain_text(
            "Access to acp/kbd-settled saved: alice gets pull.", timeout=30_000
        )
        me = person_row(page, "acp/kbd-settled", "alice")
        expect_status(me, "Pending", timeout=5_000)
        focus_by_keyboard(page, page.locator("#repo-manage-access"))  # the page-head button
        remember_focus(page)
        page.wait_for_timeout(WAIT_MS)
        assert focus_unchanged(page), "a live refresh took the focus from Manage access"
    finally:
        hub.relay.release()
    expect_status(me, "Active", timeout=CONVERGE_MS)
    assert focus_unchanged(page), "the row's swap took the focus from Manage access"
    shot(page, "keyboard-2-access-active-focus-kept")

    # One Space on the ticked Pull, then Save: asked first, nothing removed yet.
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Manage access acp/kbd-settled")).to_be_visible()
    focus_by_keyboard(page, page.get_by_label("alice may pull"))
    page.keyboard.press("Space")
    focus_by_keyboard(page, page.get_by_role("button", name="Save", exact=True))
    page.keyboard.press("Enter")
    expect(
        page.get_by_role("heading", name="Confirm the changes to acp/kbd-settled")
    ).to_be_visible()
    expect(page.locator("ul.changes.removed")).to_have_text("alice loses pull access")
    shot(page, "keyboard-3-confirm-removal")
    focus_by_keyboard(page, page.get_by_role("button", name="Change the selection"))
    page.keyboard.press("Enter")
    expect(page.get_by_label("alice may pull")).not_to_be_checked()  # as submitted
    page.get_by_role("link", name="Cancel").click()
    expect_status(person_row(page, "acp/kbd-settled", "alice"), "Active")  # still there


def test_arrow_up_on_a_role_changes_nothing_until_save(page, hub):
    sign_in(page, hub.people["alice"])
    open_project(page, "acp")
    role = page.get_by_label("Role of bob")
    expect(role).to_have_value("member")
    focus_by_keyboard(page, role)
    page.keyboard.press("ArrowUp")  # made bob a project admin when the select applied
    expect(role).to_have_value("admin")  # the page's choice changed; nothing was sent
    page.wait_for_timeout(1_500)
    page.reload()
    expect(page.get_by_label("Role of bob")).to_have_value("member")
    # Only its Save changes it (and back again).
    role = page.get_by_label("Role of bob")
    role.select_option("admin")
    page.get_by_role("button", name="Save role of bob").click()
    expect(page.get_by_role("status")).to_contain_text("bob is now admin.")
    page.get_by_label("Role of bob").select_option("member")
    page.get_by_role("button", name="Save role of bob").click()
    expect(page.get_by_role("status")).to_contain_text("bob is now member.")


def test_a_reload_after_a_reveal_does_not_reveal_again(page, hub):
    sign_in(page, hub.people["alice"])
    page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Connected Identities"
    ).click()
    ecr = page.locator("section").filter(has=page.get_by_role("heading", name="Amazon ECR"))
    create = ecr.get_by_role("button", name="Create my credentials")
    if create.count():
        create.click()
    expect(ecr.get_by_role("button", name="Reveal")).to_be_visible(timeout=CONVERGE_MS)
    ecr.get_by_role("button", name="Reveal").click()
    expect(page.locator("#ecr-secret")).to_have_text(re.compile(r"^\S{30,}$"))
    assert page.url.endswith("/identities/ecr/secret/")
    page.reload()  # a GET: no form is posted again
    expect(page.locator("#ecr-secret")).to_have_count(0)
    expect(page.get_by_text("This secret was shown once")).to_be_visible()
    page.goto("/identities/ecr/reveal/")  # the form's address, opened as a page
    expect(page.get_by_role("heading", name="This address is a form's, not a page")).to_be_visible()
    page.get_by_role("link", name="Go to the page").click()
    expect(page.get_by_role("heading", name="Connected Identities", exact=True)).to_be_visible()


def test_long_names_keep_edit_and_delete_within_reach(new_page, hub, shot):
    page = new_page()
    sign_in(page, hub.people["alice"])
    open_project(page, "acp")
    page.get_by_role("navigation", name="Project sections").get_by_role(
        "link", name="Services"
    ).click()
    name = "a" + "b" * 62  # 63 characters, the most a service name may have
    page.get_by_label("Name").fill(name)
    page.get_by_label("Description").fill("x" * 1000)  # unbroken, the longest allowed
    page.get_by_role("button", name="Create service").click()
    expect(page.get_by_role("status")).to_contain_text(f"Service {name} created.")
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 860})
        for button in (f"Edit {name}", f"Delete {name}"):
            target = page.get_by_role("link", name=button)
            target.scroll_into_view_if_needed()
            box = target.bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= width, (width, button, box)
            hit = page.evaluate(
                "([x, y]) => document.elementFromPoint(x, y).closest('a')?.textContent",
                [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2],
            )
            assert hit and hit.startswith(button.split()[0]), (width, button, hit)
    shot(page, "keyboard-4-long-service-name")
    page.set_viewport_size({"width": 1280, "height": 860})
    page.get_by_role("link", name=f"Delete {name}").click()
    page.get_by_role("button", name="Delete service").click()
    expect(page.get_by_role("status")).to_contain_text(f"Service {name} deleted.")


def test_focus_lands_on_the_first_error_after_a_refused_submit(page, hub):
    sign_in(page, hub.people["alice"])
    open_project(page, "acp")
    open_repos_tab(page)
    page.get_by_role("link", name="Request new Docker repo").click()
    page.get_by_label("Name", exact=True).fill("Not Valid")
    page.get_by_role("button", name="Request repository").click()
    expect(page.get_by_text("Use lowercase letters and digits")).to_be_visible()
    expect(page.get_by_label("Name", exact=True)).to_be_focused()
