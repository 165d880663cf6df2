"""The user guide (ecr-user-guide.md), walked in headless Chromium against a running hub:
gunicorn, a real Celery worker and a moto server as AWS. Each scenario is what a person
does, by clicking and typing, and saves a screenshot into var/e2e-screenshots/."""

import re

import pytest
from playwright.sync_api import expect

from .guide import (
    CONVERGE_MS,
    clipboard,
    ensure_active_repo,
    expect_shown_as,
    expect_status,
    open_manage_access,
    open_project,
    open_repos_tab,
    person_row,
    repo_row,
    repos_tab,
    request_active_repo,
    request_repo,
    robot_row,
    save_access,
    sign_in,
)
from .stack import TASK_MAX_RETRIES

pytestmark = pytest.mark.e2e


def test_1_sign_in_and_open_the_projects_docker_repos(page, hub, shot):
    """Login; the projects list; select the project; the `ALL DOCKER REPOS` tab."""
    sign_in(page, hub.people["alice"])
    open_project(page, "acp")
    expect(page.get_by_role("heading", name="ACP")).to_be_visible()
    expect_shown_as(repos_tab(page), "ALL DOCKER REPOS")
    # The guide: "Ensure you have a Service defined ... (check under the SERVICES tab)".
    page.get_by_role("navigation", name="Project sections").get_by_role(
        "link", name="Services"
    ).click()
    expect(page.get_by_role("table", name="Services of acp")).to_contain_text("hello-world-app")
    open_repos_tab(page)
    expect_shown_as(
        page.get_by_role("link", name="Request new Docker repo"), "REQUEST NEW DOCKER REPO"
    )
    expect_shown_as(page.get_by_role("link", name="Refresh"), "REFRESH")
    shot(page, "1-project-repos-tab")


def test_2_request_a_repo_and_watch_it_become_active(page, hub, shot):
    """`REQUEST NEW DOCKER REPO`; the list turns Pending → Active by itself; `REFRESH`."""
    sign_in(page, hub.people["alice"])
    open_project(page, "acp")
    open_repos_tab(page)
    # AWS answers slowly for a moment, so the request is seen in flight first.
    hub.relay.hold()
    try:
        request_repo(page, "acp", service="hello-world-app", name="hello-world-app")
        row = repo_row(page, "acp", "hello-world-app")
        expect_status(row, "Pending", timeout=5_000)
        shot(page, "2-repo-pending")
        # From here on nobody touches the page: no click, no reload.
        page.evaluate("window.__e2eSamePage = true")
        navigations = []
        page.on("framenavigated", lambda frame: navigations.append(frame.url))
    finally:
        hub.relay.release()
    expect_status(row, "Active")
    assert page.evaluate("window.__e2eSamePage === true"), "the page was reloaded"
    assert navigations == [], f"the page navigated: {navigations}"
    expect(row).to_contain_text(".dkr.ecr.eu-west-2.amazonaws.com/acp/hello-world-app")
    shot(page, "project-repos")

    # The repository's URI, copied for `docker pull`: the button says so, then is back as
    # it was (its extra words are for screen readers only, so it must not grow).
    copy_uri = row.get_by_role("button", name="Copy URI of acp/hello-world-app")
    expect_shown_as(copy_uri, "COPY")
    width = copy_uri.bounding_box()["width"]
    copy_uri.click()
    expect(row.get_by_role("button", name="Copied", exact=True)).to_be_visible()
    assert clipboard(page).endswith(".dkr.ecr.eu-west-2.amazonaws.com/acp/hello-world-app")
    expect(copy_uri).to_be_visible()  # its name is back
    assert copy_uri.bounding_box()["width"] == pytest.approx(width, abs=1), (
        "the Copy button grew: its words for screen readers are shown"
    )

    with page.expect_navigation():
        page.get_by_role("link", name="Refresh").click()
    expect_status(repo_row(page, "acp", "hello-world-app"), "Active", timeout=5_000)
    assert not page.evaluate("window.__e2eSamePage === true"), "REFRESH did not reload"
    shot(page, "2-repo-active-after-refresh")


def test_3_manage_access_robot_and_own_pull_access(page, hub, shot):
    """`MANAGE ACCESS`: add a robot, give yourself pull; both turn Active; the robot's
    credentials are shown beside it, revealed and copied."""
    sign_in(page, hub.people["alice"])
    open_project(page, "acp")
    open_repos_tab(page)
    row = ensure_active_repo(page, "acp", service="hello-world-app", name="hello-world-app")
    expect_shown_as(
        row.get_by_role("link", name="Manage access to acp/hello-world-app"), "MANAGE ACCESS"
    )
    open_manage_access(page, "acp", "hello-world-app")

    page.get_by_label("Add robot accounts").fill("drone-ci")
    page.get_by_label("alice may pull").check()
    expect(page.get_by_label("alice may push")).not_to_be_checked()  # the guide's advice
    save_access(page, "acp", "hello-world-app")

    # The repository page updates by itself; then a reload (the guide's REFRESH) agrees.
    robot = robot_row(page, "acp/hello-world-app", "drone-ci")
    me = person_row(page, "acp/hello-world-app", "alice")
    expect_status(robot, "Active")
    expect_status(me, "Active")
    page.reload()
    expect_status(robot, "Active", timeout=5_000)
    expect_status(me, "Active", timeout=5_000)
    expect(me).to_contain_text("Pull")

    # "once they reveal an active status the IAM Credentials are displayed alongside it"
    key_id = robot.locator("code")
    expect(key_id).to_have_text(re.compile(r"^[A-Z0-9]{16,}$"))
    robot_key = key_id.inner_text()
    shot(page, "3-repo-with-robot-and-access")

    # MANAGE ACCESS again, from the repository's page: what is saved, with its status.
    page.get_by_role("link", name="Manage access", exact=True).click()
    expect(page.get_by_role("heading", name="Manage access acp/hello-world-app")).to_be_visible()
    expect(
        page.get_by_role("table", name="Robot accounts of acp/hello-world-app")
        .get_by_role("row")
        .filter(has_text="drone-ci")
    ).to_contain_text("Active")
    expect(page.get_by_label("alice may pull")).to_be_checked()
    shot(page, "manage-access")
    page.get_by_role("link", name="Cancel").click()

    robot.get_by_role("button", name="Reveal the secret of drone-ci").click()
    expect(page.get_by_role("heading", name="Robot account drone-ci")).to_be_visible()
    secret = page.locator("#robot-secret")
    expect(secret).to_have_text(re.compile(r"^\S{30,}$"))
    expect(page.locator("#robot-key")).to_have_text(robot_key)
    # The field's one button; located by where it is, as its name changes once pressed.
    copy = page.get_by_role("definition").filter(has=secret).get_by_role("button")
    expect(copy).to_have_text("Copy")
    copy.click()
    expect(copy).to_have_text("Copied")
    assert clipboard(page) == secret.inner_text()
    shot(page, "3-robot-credentials-revealed")


def test_4_connected_identities_shows_my_ecr_credentials(page, hub, shot):
    """Connected Identities: your own IAM credentials under Amazon ECR, and how to log in."""
    sign_in(page, hub.people["alice"])
    page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Connected Identities"
    ).click()
    expect(page.get_by_role("heading", name="Connected Identities", exact=True)).to_be_visible()
    ecr = page.locator("section").filter(has=page.get_by_role("heading", name="Amazon ECR"))
    expect(ecr.get_by_role("heading", name="Amazon ECR")).to_be_visible()
    # Given access in scenario 3, alice already has them; alone, she creates them here.
    create = ecr.get_by_role("button", name="Create my credentials")
    created_here = create.count() > 0
    if created_here:
        create.click()
    status = ecr.get_by_role("definition").first  # the first fact: Status
    expect(status).to_contain_text("Active", timeout=CONVERGE_MS)
    if created_here:
        page.reload()  # the commands below the polled status show the key after a reload
    key_id = page.locator("#ecr-key-id")
    expect(key_id).to_have_text(re.compile(r"^[A-Z0-9]{16,}$"))
    expect(ecr).to_contain_text("hub-user-alice")
    login = page.locator("#cmd-login")
    expect(login).to_contain_text("aws ecr get-login-password --region eu-west-2")
    expect(login).to_contain_text("docker login --username AWS --password-stdin")
    expect(login).to_contain_text(".dkr.ecr.eu-west-2.amazonaws.com")
    expect(page.locator("#cmd-configure")).to_contain_text("aws configure --profile acp-ecr")
    expect(page.locator("#cmd-configure")).to_contain_text(key_id.inner_text())
    shot(page, "connected-identities")

    ecr.get_by_role("button", name="Reveal").click()
    secret = page.locator("#ecr-secret")
    expect(secret).to_have_text(re.compile(r"^\S{30,}$"))
    expect(page.locator("#cmd-configure")).to_contain_text(secret.inner_text())
    step = page.get_by_role("listitem").filter(has=login)
    expect(step.get_by_role("button")).to_have_text("Copy login command")
    step.get_by_role("button", name="Copy login command").click()
    expect(step.get_by_role("button")).to_have_text("Copied")
    assert clipboard(page).startswith("aws ecr get-login-password")
    shot(page, "4-connected-identities-revealed")


def test_5_plain_member_by_repository_management(new_page, hub, shot):
    """A plain member manages repositories while the project leaves that to members (the
    default); once it is set to admins only, they see the repository and nothing more."""
    bob = new_page()
    sign_in(bob, hub.people["bob"])
    open_project(bob, "acp")
    expect(bob.get_by_text("You are a member")).to_be_visible()
    open_repos_tab(bob)
    request_active_repo(bob, "acp", service="billing", name="bob-tools")
    open_manage_access(bob, "acp", "bob-tools")
    bob.get_by_label("bob may pull").check()
    save_access(bob, "acp", "bob-tools")
    expect_status(person_row(bob, "acp/bob-tools", "bob"), "Active")
    shot(bob, "5-member-granted-own-pull")

    # vault: alice (project admin) leaves repository management to admins, and sets up a
    # repository with a robot.
    alice = new_page()
    sign_in(alice, hub.people["alice"])
    open_project(alice, "vault")
    alice.get_by_label("Only project admins may request repositories and manage access").check()
    alice.get_by_role("button", name="Save settings").click()
    expect(alice.get_by_role("status")).to_contain_text("Project settings saved.")
    open_repos_tab(alice)
    request_active_repo(alice, "vault", service="api", name="secrets-api")
    open_manage_access(alice, "vault", "secrets-api")
    manage_access_url = alice.url
    alice.get_by_label("Add robot accounts").fill("deployer")
    save_access(alice, "vault", "secrets-api")
    expect_status(robot_row(alice, "vault/secrets-api", "deployer"), "Active")

    open_project(bob, "vault")
    expect(bob.get_by_text("Only project admins may request repositories")).to_be_visible()
    open_repos_tab(bob)
    row = repo_row(bob, "vault", "secrets-api")
    expect_status(row, "Active")
    expect(bob.get_by_role("link", name="Request new Docker repo")).to_have_count(0)
    expect(row.get_by_role("link", name=re.compile("^Manage access"))).to_have_count(0)
    expect(row.get_by_role("link", name=re.compile("^Delete"))).to_have_count(0)
    shot(bob, "5-admins-only-member-repos")

    row.get_by_role("link", name="vault / secrets-api").click()
    expect(bob.get_by_role("heading", name="vault/secrets-api", exact=True)).to_be_visible()
    expect(bob.get_by_role("link", name="Manage access")).to_have_count(0)
    expect(bob.get_by_role("link", name="Delete")).to_have_count(0)
    robot = robot_row(bob, "vault/secrets-api", "deployer")
    expect_status(robot, "Active")
    expect(robot.get_by_role("button", name=re.compile("^Reveal"))).to_have_count(0)
    expect(robot.locator("code")).to_have_count(0)  # no access key id either
    shot(bob, "5-admins-only-member-repo-page")

    # Typing the address of MANAGE ACCESS does not help.
    bob.goto(manage_access_url)
    expect(bob.get_by_role("heading", name="You can't do that here")).to_be_visible()


def test_6_aws_unreachable_then_retry(page, hub, shot):
    """AWS can't be reached during a request: `Failed` with a reason; AWS back; `Retry`."""
    sign_in(page, hub.people["alice"])
    open_project(page, "acp")
    open_repos_tab(page)
    hub.relay.down()
    try:
        request_repo(page, "acp", service="billing", name="invoices")
        row = repo_row(page, "acp", "invoices")
        # The worker retries a few times (quickly here), then gives up: the list, which
        # polls by itself, shows the outcome and the reason.
        expect_status(row, "Failed")
        expect(row).to_contain_text("AWS unreachable")
        expect(row).to_contain_text(f"gave up after {TASK_MAX_RETRIES + 1} attempts")
        expect(row.get_by_role("button", name="Retry")).to_be_visible()
        shot(page, "6-repo-failed-aws-unreachable")
    finally:
        hub.relay.up()

    row.get_by_role("button", name="Retry").click()
    expect(page.get_by_role("status")).to_contain_text("Retrying acp/invoices")
    row = repo_row(page, "acp", "invoices")
    expect_status(row, "Active")
    expect(row).not_to_contain_text("AWS unreachable")
    expect(row.get_by_role("button", name="Retry")).to_have_count(0)
    shot(page, "6-repo-active-after-retry")


def test_7_delete_a_repo_after_confirming(page, hub, shot):
    """Delete asks for the full name first; then the repository disappears from the list."""
    sign_in(page, hub.people["alice"])
    open_project(page, "acp")
    open_repos_tab(page)
    row = request_active_repo(page, "acp", service="billing", name="short-lived")

    row.get_by_role("link", name="Delete").click()
    expect(page.get_by_role("heading", name="Delete acp/short-lived?")).to_be_visible()
    confirm = page.get_by_label("Type the repository's full name to confirm")
    # A wrong name deletes nothing.
    confirm.fill("short-lived")
    page.get_by_role("button", name="Delete repository and images").click()
    expect(page.get_by_text("Type acp/short-lived exactly to confirm.")).to_be_visible()
    shot(page, "7-delete-confirmation")

    page.get_by_label("Type the repository's full name to confirm").fill("acp/short-lived")
    page.get_by_role("button", name="Delete repository and images").click()
    expect(page.get_by_role("status")).to_contain_text("Deleting acp/short-lived")
    expect(repo_row(page, "acp", "short-lived")).to_have_count(0, timeout=30_000)
    # Still gone after a reload.
    page.get_by_role("link", name="Refresh").click()
    expect(page.get_by_role("heading", name="All Docker repos")).to_be_visible()
    expect(repo_row(page, "acp", "short-lived")).to_have_count(0)
    shot(page, "7-repo-deleted")
