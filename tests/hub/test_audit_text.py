"""History and Activity read audit events as sentences (hub.audit_text): every action the
hub records has its own renderer, and the sentences say who did what to which object."""

import re
from pathlib import Path

import pytest
from django.template import Context, Template

from hub import audit_text
from hub.models import AuditEvent

ROOT = Path(__file__).resolve().parents[2]
APPS = ("hub", "projects", "docker_repos", "identities")
# Actions whose names the code builds (docker_repos/reconcile.py).
BUILT = {
    "robot.boundary_repaired",
    "ecr_identity.boundary_repaired",
    "robot.drift_recreated",
    "ecr_identity.drift_recreated",
}


def recorded_actions() -> set[str]:
    """Every action name written literally where an audit event is recorded."""
    found = set()
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            text = path.read_text()
            found |= set(re.findall(r'\baction="([a-z_]+\.[a-z_]+)"', text))
            found |= set(re.findall(r'"action": "([a-z_]+\.[a-z_]+)"', text))
    return found | BUILT


def event(action, *, actor="developer", target="", **detail) -> AuditEvent:
    return AuditEvent(action=action, actor_username=actor, target_repr=target, detail=detail)


def test_every_recorded_action_has_its_own_renderer():
    actions = recorded_actions()
    assert len(actions) > 40, "the scan found the hub's actions"
    missing = sorted(a for a in actions if not audit_text.kind_of(a))
    assert missing == [], f"actions without a sentence: {missing}"


def test_no_sentence_shows_an_action_code():
    for action in recorded_actions():
        sentence = audit_text.describe(event(action, target="acp/app"))
        assert action not in sentence and "_" not in sentence.replace("acp/app", ""), sentence


def test_access_changes_read_as_who_gave_whom_what():
    said = audit_text.describe(
        event(
            "docker_repo.access_changed",
            target="demo/app",
            users_granted={"admin": "pull+push", "bob": "pull"},
            users_removed=["carol"],
            robots_added=["drone-ci"],
            robots_removed=[],
        )
    )
    assert said == (
        "developer gave admin pull + push and bob pull; took away the access "
        "of carol; added the robot account drone-ci"
    )


@pytest.mark.parametrize(
    ("action", "actor", "target", "detail", "sentence"),
    [
        (
            "membership.role_changed",
            "alice",
            "bob in acp (admin)",
            {"user": "bob", "from": "member", "to": "admin"},
            "alice made bob project admin (was member)",
        ),
        (
            "membership.added",
            "alice",
            "bob in acp (member)",
            {"via": "admin"},
            "alice added bob to the project in the admin",
        ),
        (
            "docker_repo.failed",
            "",
            "acp/app",
            {"reason": "AWS refused", "while": "deleting"},
            "The repository acp/app failed while deleting: AWS refused",
        ),
        (
            "docker_repo.retried",
            "",
            "acp/app",
            {"status": "failed", "by": "reconciler"},
            "The reconciler sent the repository acp/app to AWS again",
        ),
        (
            "robot.credentials_revealed",
            "alice",
            "acp/app robot drone-ci",
            {"access_key_id": "AKIA1"},
            "alice revealed the secret key of the robot account drone-ci",
        ),
        (
            "repo_access.active",
            "",
            "bob pull+push acp/app",
            {"user": "bob", "writable": True},
            "bob may now pull + push",
        ),
        (
            "project.updated",
            "alice",
            "acp",
            {"repo_management": {"from": "members", "to": "admins"}},
            "alice changed the project: repository management from every member to project "
            "admins only",
        ),
    ],
)
def test_sentences(action, actor, target, detail, sentence):
    assert audit_text.describe(event(action, actor=actor, target=target, **detail)) == sentence


def test_an_action_without_a_renderer_still_reads_in_words():
    said = audit_text.describe(event("widget.frobbed", target="w1"))
    assert said == "developer: widget frobbed (w1)"


def test_kinds_group_the_actions_the_filter_offers():
    assert "docker_repo.access_changed" in audit_text.actions_of_kind("changed")
    assert "robot.credentials_revealed" in audit_text.actions_of_kind("secrets")
    assert set(audit_text.OBJECTS) >= {
        "dockerrepo",
        "robotaccount",
        "repoaccess",
        "membership",
        "service",
        "project",
    }
    with pytest.raises(ValueError, match="unknown kind"):
        audit_text.renders("x.y", kind="whatever")


def test_the_sentence_is_escaped_in_pages():
    html = Template("{% load hub_tags %}{% audit_sentence e %}").render(
        Context({"e": event("service.created", actor="<b>x</b>", name="<script>")})
    )
    assert "<script>" not in html and "&lt;script&gt;" in html and "<b>" not in html
