"""Every change to projects, members and services leaves an audit event, shown to project
admins on the Activity tab."""

import pytest
from django.urls import reverse

from hub.audit import audit
from hub.models import AuditEvent
from projects import services
from projects.choices import Role
from projects.models import Membership, Project, Service
from tests.helpers import page


def new_events(since: int) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(pk__gt=since).order_by("pk"))


def last_event_id() -> int:
    return AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def acp_service(world):
    return world.service


def member_of_acp(world):
    return Membership.objects.get(project=world.project, user=world.users["member"])


# (actor, url name, url args, data, expected events: (action, target model, target repr,
# project, detail))  -- target and project are resolved against the world after the request.
CHANGES = {
    "project create": (
        "hub_admin",
        "projects:create",
        [],
        {"shortname": "acme", "name": "Acme", "repo_management": "admins", "admin": "member"},
        [
            (
                "project.created",
                "project",
                "acme",
                "acme",
                {"name": "Acme", "repo_management": "admins"},
            ),
            (
                "membership.added",
                "membership",
                "member in acme (admin)",
                "acme",
                {"user": "member", "role": "admin"},
            ),
        ],
    ),
    "project update": (
        "project_admin",
        "projects:settings",
        ["acp"],
        {"name": "ACP", "description": "Access control", "repo_management": "admins"},
        [
            (
                "project.updated",
                "project",
                "acp",
                "acp",
                {
                    "description": {"from": "", "to": "Access control"},
                    "repo_management": {"from": "members", "to": "admins"},
                },
            )
        ],
    ),
    "member add": (
        "project_admin",
        "projects:member-add",
        ["acp"],
        {"user": "outsider", "role": "member"},
        [
            (
                "membership.added",
                "membership",
                "outsider in acp (member)",
                "acp",
                {"user": "outsider", "role": "member"},
            )
        ],
    ),
    "member role change": (
        "hub_admin",
        "projects:member-role",
        ["acp", "member"],
        {"role": "admin"},
        [
            (
                "membership.role_changed",
                "membership",
                "member in acp (admin)",
                "acp",
                {"user": "member", "from": "member", "to": "admin"},
            )
        ],
    ),
    "member remove": (
        "project_admin",
        "projects:member-remove",
        ["acp", "member"],
        {},
        [
            (
                "membership.removed",
                "membership",
                "member in acp (member)",
                "acp",
                {"user": "member", "role": "member"},
            )
        ],
    ),
    "service create": (
        "project_admin",
        "projects:services",
        ["acp"],
        {"name": "billing", "description": ""},
        [("service.created", "service", "acp/billing", "acp", {"name": "billing"})],
    ),
    "service update": (
        "project_admin",
        "projects:service-edit",
        ["acp", "SERVICE"],
        {"name": "hello-world", "description": "Hi"},
        [
            (
                "service.updated",
                "service",
                "acp/hello-world",
                "acp",
                {
                    "name": {"from": "hello-world-app", "to": "hello-world"},
                    "description": {"from": "", "to": "Hi"},
                },
            )
        ],
    ),
    "service delete": (
        "hub_admin",
        "projects:service-delete",
        ["acp", "SERVICE"],
        {},
        [("service.deleted", "service", "acp/hello-world-app", "acp", {"name": "hello-world-app"})],
    ),
}


@pytest.mark.parametrize("change", CHANGES.keys())
def test_every_change_writes_an_audit_event(client, world, change):
    role, url_name, args, data, expected = CHANGES[change]
    actor = world.users[role]
    args = [world.service.pk if a == "SERVICE" else a for a in args]
    client.force_login(actor)
    since = last_event_id()

    response = client.post(reverse(url_name, args=args), data)

    assert response.status_code == 302, page(response)
    events = new_events(since)
    assert [e.action for e in events] == [action for action, *_ in expected]
    for event, (_action, target_type, target_repr, project, detail) in zip(
        events, expected, strict=True
    ):
        assert event.actor == actor
        assert event.actor_username == actor.username
        assert event.target_type == target_type
        assert event.target_repr == target_repr
        assert event.target_id
        assert event.project_shortname == project
        assert event.project_id == Project.objects.get(shortname=project).pk
        assert event.detail == detail
        assert event.at is not None


def test_event_targets_point_at_the_changed_rows(client, world):
    client.force_login(world.users["project_admin"])
    since = last_event_id()
    client.post(reverse("projects:services", args=["acp"]), {"name": "billing"})
    client.post(
        reverse("projects:member-add", args=["acp"]), {"user": "outsider", "role": "member"}
    )
    service_event, member_event = new_events(since)
    assert service_event.target_id == str(Service.objects.get(name="billing").pk)
    membership = Membership.objects.get(user=world.users["non_member"])
    assert member_event.target_id == str(membership.pk)


def test_refused_and_unchanged_actions_write_no_event(client, world):
    client.force_login(world.users["project_admin"])
    since = last_event_id()
    statuses = [
        # Nothing to change.
        client.post(
            reverse("projects:settings", args=["acp"]),
            {"name": "ACP", "description": "", "repo_management": "members"},
        ),
        client.post(reverse("projects:member-role", args=["acp", "member"]), {"role": "member"}),
        client.post(
            reverse("projects:service-edit", args=["acp", world.service.pk]),
            {"name": "hello-world-app", "description": ""},
        ),
        # Refused.
        client.post(reverse("projects:member-remove", args=["acp", "padmin"])),
        client.post(reverse("projects:services", args=["acp"]), {"name": "hello-world-app"}),
    ]
    client.force_login(world.users["member"])
    statuses.append(
        client.post(
            reverse("projects:member-add", args=["acp"]), {"user": "outsider", "role": "member"}
        )
    )
    assert [r.status_code for r in statuses] == [302, 302, 302, 302, 400, 403]
    assert new_events(since) == []


def test_the_event_survives_the_actor_and_the_target(world):
    services.membership_add(
        actor=world.users["project_admin"],
        project=world.project,
        user=world.users["non_member"],
        role=Role.MEMBER,
    )
    event = AuditEvent.objects.get(action="membership.added")
    world.users["project_admin"].delete()
    world.users["non_member"].delete()
    event.refresh_from_db()
    assert event.actor is None
    assert event.actor_username == "padmin"
    assert event.target_repr == "outsider in acp (member)"
    assert str(event).endswith("padmin membership.added outsider in acp (member)")


# --- The Activity tab -------------------------------------------------------------------


@pytest.fixture
def history(world):
    """A few changes in acp by its admin and one in the other project."""
    services.service_create(
        actor=world.users["project_admin"], project=world.project, name="billing-api"
    )
    services.membership_add(
        actor=world.users["project_admin"], project=world.project, user="outsider"
    )
    services.service_create(
        actor=world.users["other_admin"], project=world.other, name="secret-thing"
    )
    return world


@pytest.mark.parametrize("role", ["project_admin", "hub_admin"])
def test_project_admins_see_the_activity(client, history, role):
    client.force_login(history.users[role])
    response = client.get(reverse("projects:activity", args=["acp"]))
    assert response.status_code == 200
    body = page(response)
    # In sentences, not action codes.
    assert "padmin added outsider to the project as member" in body
    assert "padmin created the service billing-api" in body
    assert "service.created" not in body.replace('data-action="service.created"', "")
    # Another project's events are not shown.
    assert "secret-thing" not in body
    assert [e.action for e in response.context["events"]] == ["membership.added", "service.created"]


def test_activity_filters_by_person_object_and_kind_in_words(client, history):
    services.service_update(
        actor=history.users["hub_admin"],
        service=history.service,
        description="Renamed by the hub admin",
    )
    client.force_login(history.users["project_admin"])
    url = reverse("projects:activity", args=["acp"])
    body = page(client.get(url))
    # The filter offers words: who acted, what about, what happened.
    for words in ("padmin", "Services", "Members", "Changed", "Requested or created"):
        assert f">{words}</option>" in body

    def actions(**query):
        return [e.action for e in client.get(url, query).context["events"]]

    assert actions(object="service") == ["service.updated", "service.created"]
    assert actions(kind="changed") == ["service.updated"]
    assert actions(person="padmin") == ["membership.added", "service.created"]
    assert actions(person="padmin", object="service", kind="requested") == ["service.created"]
    assert "The hub itself" not in body  # offered once the hub did something here
    audit(
        actor=None,
        action="reconcile.error",
        target=history.service,
        project=history.project,
        detail={"object": "acp/billing-api", "reason": "x"},
    )
    assert actions(person="(hub)") == ["reconcile.error"]
    # A value the filter does not offer (e.g. an old action-code prefix) narrows nothing.
    assert len(actions(kind="service")) == 4


def test_activity_tab_is_only_linked_for_admins(client, history):
    client.force_login(history.users["member"])
    detail = page(client.get(reverse("projects:detail", args=["acp"])))
    assert reverse("projects:activity", args=["acp"]) not in detail
    response = client.get(reverse("projects:activity", args=["acp"]))
    assert response.status_code == 403
    assert "acp/billing-api" not in page(response)
    client.force_login(history.users["project_admin"])
    detail = page(client.get(reverse("projects:detail", args=["acp"])))
    assert reverse("projects:activity", args=["acp"]) in detail
