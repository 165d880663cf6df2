"""The Django admin: every model browsable by a hub admin, changes audited, audit read-only."""

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse

from docker_repos.access import access_set
from docker_repos.models import DockerRepo, RepoAccess
from hub.audit import audit
from hub.models import AuditEvent
from identities.services import api_token_create
from projects.choices import Role
from projects.models import Membership, Project, Service
from tests.access_helpers import active_repo, converging, policy_grants
from tests.helpers import page

REGISTERED = sorted(admin.site._registry, key=lambda model: model._meta.label)


def changelist_url(model) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


@pytest.fixture
def rows(world):
    """At least one row in the hub's tables, so lists and filters have something to show."""
    api_token_create(user=world.users["member"], name="ci")
    audit(
        actor=world.users["project_admin"],
        action="service.created",
        target=world.service,
        project=world.project,
        detail={"name": world.service.name},
    )
    DockerRepo.objects.create(project=world.project, service=world.service, name="web")
    return world


@pytest.mark.parametrize("model", REGISTERED, ids=lambda model: model._meta.label)
def test_every_changelist_opens_with_a_search_and_each_filter(client, superuser, rows, model):
    model_admin = admin.site._registry[model]
    url = changelist_url(model)
    client.force_login(superuser)

    response = client.get(url, {"q": "acp"})
    assert response.status_code == 200

    # Each filter's first option, as the sidebar links it (with the search kept).
    request = RequestFactory().get(url)
    request.user = superuser
    changelist = model_admin.get_changelist_instance(request)
    for spec in changelist.filter_specs:
        options = [c for c in spec.choices(changelist) if not c["selected"]]
        if not options:
            continue
        query = options[0]["query_string"]
        response = client.get(f"{url}{query}&q=a")
        # An invalid filter redirects to ?e=1 (302): every filter must be a real one.
        assert response.status_code == 200, (spec.title, query)


def test_the_hub_models_are_all_registered():
    labels = {model._meta.label for model in REGISTERED}
    assert {
        "projects.Project",
        "projects.Membership",
        "projects.Service",
        "hub.AuditEvent",
        "identities.ApiToken",
    } <= labels


def test_search_finds_rows(client, superuser, rows):
    client.force_login(superuser)
    response = client.get(changelist_url(Project), {"q": "other"})
    assert [p.shortname for p in response.context["cl"].result_list] == ["other"]
    response = client.get(changelist_url(Membership), {"q": "padmin"})
    assert [m.user.username for m in response.context["cl"].result_list] == ["padmin"]
    response = client.get(changelist_url(Service), {"q": "hello"})
    assert [s.name for s in response.context["cl"].result_list] == ["hello-world-app"]


def test_project_list_counts_members_and_services(client, superuser, rows):
    client.force_login(superuser)
    response = client.get(changelist_url(Project))
    acp = next(p for p in response.context["cl"].result_list if p.shortname == "acp")
    assert (acp._members, acp._services) == (2, 1)


def test_a_plain_user_cannot_open_the_admin(client, world):
    client.force_login(world.users["project_admin"])
    response = client.get(changelist_url(Project))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


# --- Changes through the admin are audited ------------------------------------------------


def events_since(pk):
    return list(AuditEvent.objects.filter(pk__gt=pk).order_by("pk"))


def last_pk():
    return AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def test_creating_a_service_in_the_admin_is_audited(client, superuser, world):
    client.force_login(superuser)
    since = last_pk()
    response = client.post(
        reverse("admin:projects_service_add"),
        {"project": world.project.pk, "name": "billing", "description": ""},
    )
    assert response.status_code == 302
    service = Service.objects.get(project=world.project, name="billing")
    [event] = events_since(since)
    assert (event.actor, event.action, event.target_type, event.target_id, event.project_id) == (
        superuser,
        "service.created",
        "service",
        str(service.pk),
        world.project.pk,
    )
    assert event.detail == {"via": "admin"}


def test_the_admin_applies_the_service_name_rules(client, superuser, world):
    client.force_login(superuser)
    since = last_pk()
    response = client.post(
        reverse("admin:projects_service_add"),
        {"project": world.project.pk, "name": "hello-world-app"},
    )
    assert response.status_code == 200
    assert "This project already has a service with this name." in page(response)
    assert events_since(since) == []
    assert Service.objects.filter(name="hello-world-app").count() == 1


def admin_form_data(response) -> dict:
    """The POST data of an admin change form as the browser would send it unchanged."""
    data = {}
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        management = formset.management_form
        for name in management.fields:
            data[management.add_prefix(name)] = management[name].value()
        forms += formset.forms
    for form in forms:
        for name in form.fields:
            value = form[name].value()
            if value is None or value is False:
                continue
            data[form.add_prefix(name)] = "on" if value is True else value
    return data


def test_changing_a_project_and_its_inlines_in_the_admin_is_audited(client, superuser, world):
    client.force_login(superuser)
    url = reverse("admin:projects_project_change", args=[world.project.pk])
    data = admin_form_data(client.get(url))
    data["name"] = "Access Control Platform"
    # Add a member and remove the other one through the inline.
    total = int(data["memberships-TOTAL_FORMS"])
    data["memberships-TOTAL_FORMS"] = total + 1
    data[f"memberships-{total}-user"] = world.users["non_member"].pk
    data[f"memberships-{total}-role"] = Role.MEMBER
    member = Membership.objects.get(project=world.project, user=world.users["member"])
    index = next(i for i in range(total) if int(data[f"memberships-{i}-id"]) == member.pk)
    data[f"memberships-{index}-DELETE"] = "on"
    since = last_pk()

    response = client.post(url, data)

    assert response.status_code == 302, response.context and response.context["errors"]
    world.project.refresh_from_db()
    assert world.project.name == "Access Control Platform"
    assert set(world.project.memberships.values_list("user__username", flat=True)) == {
        "padmin",
        "outsider",
    }
    events = {e.action: e for e in events_since(since)}
    assert set(events) == {"project.updated", "membership.removed", "membership.added"}
    assert events["project.updated"].detail == {"via": "admin", "changed": ["name"]}
    assert events["membership.removed"].target_repr == "member in acp (member)"
    assert events["membership.removed"].detail["role"] == "member"
    assert events["membership.added"].target_repr == "outsider in acp (member)"
    assert all(e.project_id == world.project.pk and e.actor == superuser for e in events.values())


def test_deleting_a_membership_in_the_admin_is_audited(client, superuser, world):
    client.force_login(superuser)
    member = Membership.objects.get(project=world.project, user=world.users["member"])
    since = last_pk()
    response = client.post(
        reverse("admin:projects_membership_delete", args=[member.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert not Membership.objects.filter(pk=member.pk).exists()
    [event] = events_since(since)
    assert (event.action, event.target_id, event.project_id) == (
        "membership.removed",
        str(member.pk),
        world.project.pk,
    )
    assert event.detail == {"via": "admin", "role": "member"}


# --- Audit events are read-only -------------------------------------------------------


@pytest.fixture
def event(world):
    return audit(
        actor=world.users["project_admin"],
        action="service.created",
        target=world.service,
        project=world.project,
        detail={"name": "x"},
    )


def test_hub_admin_reads_the_audit_log(client, superuser, event):
    client.force_login(superuser)
    response = client.get(reverse("admin:hub_auditevent_changelist"))
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [event]
    assert "service.created" in page(response)
    response = client.get(reverse("admin:hub_auditevent_change", args=[event.pk]))
    assert response.status_code == 200
    assert 'name="_save"' not in page(response)


def test_audit_events_cannot_be_added_changed_or_deleted(client, superuser, event):
    client.force_login(superuser)
    before = list(AuditEvent.objects.values_list())
    assert client.get(reverse("admin:hub_auditevent_add")).status_code == 403
    assert client.post(reverse("admin:hub_auditevent_add"), {"action": "forged"}).status_code == 403
    assert (
        client.post(
            reverse("admin:hub_auditevent_change", args=[event.pk]), {"action": "forged"}
        ).status_code
        == 403
    )
    assert client.get(reverse("admin:hub_auditevent_delete", args=[event.pk])).status_code == 403
    assert (
        client.post(
            reverse("admin:hub_auditevent_delete", args=[event.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    # The bulk delete action is not offered either.
    response = client.post(
        reverse("admin:hub_auditevent_changelist"),
        {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"},
    )
    assert response.status_code in (200, 302)
    assert list(AuditEvent.objects.values_list()) == before


def test_audit_log_search_and_filter(client, superuser, event, world):
    audit(actor=world.users["other_admin"], action="membership.added", project=world.other)
    client.force_login(superuser)
    url = reverse("admin:hub_auditevent_changelist")
    response = client.get(url, {"q": "otheradmin"})
    assert [e.action for e in response.context["cl"].result_list] == ["membership.added"]
    response = client.get(url, {"project_shortname": "acp"})
    assert list(response.context["cl"].result_list) == [event]


def test_a_hub_admin_who_is_staff_but_not_superuser_runs_the_hub_models(client, world):
    staff = world.users["hub_admin"]
    assert not staff.is_superuser
    client.force_login(staff)
    for url in (
        "/admin/projects/project/",
        "/admin/docker_repos/dockerrepo/",
        "/admin/hub/auditevent/",
        "/admin/identities/ecridentity/",
    ):
        assert client.get(url).status_code == 200, url
    assert client.get("/admin/projects/project/add/").status_code == 200
    # Other apps' models stay with superusers.
    assert client.get("/admin/auth/user/").status_code == 403


def test_removing_a_member_in_the_admin_withdraws_their_repository_access(
    client, world, aws, django_capture_on_commit_callbacks
):
    repo = active_repo(world)
    member = world.users["member"]
    with converging(django_capture_on_commit_callbacks):
        access_set(
            actor=world.users["project_admin"],
            repo=repo,
            robots=[],
            users=[{"username": "member", "writable": False}],
        )
    assert RepoAccess.objects.get(repo=repo, user=member).status == "active"
    assert any("hub-user-member" in arn for arn in policy_grants(repo.full_name)["pull"])

    membership = world.project.memberships.get(user=member)
    client.force_login(world.users["hub_admin"])
    with converging(django_capture_on_commit_callbacks):
        response = client.post(
            f"/admin/projects/membership/{membership.pk}/delete/", {"post": "yes"}
        )
    assert response.status_code == 302
    assert not RepoAccess.objects.filter(repo=repo, user=member).exists()
    assert not any(
        "hub-user-member" in arn for arns in policy_grants(repo.full_name).values() for arn in arns
    )
    assert AuditEvent.objects.filter(
        action="repo_access.removal_requested", actor=world.users["hub_admin"]
    ).exists()


# --- Who gets in ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/admin/", "/admin/projects/project/", "/admin/login/"])
def test_a_signed_in_non_staff_user_gets_a_403_page(client, world, path):
    """Not a redirect loop (the admin sent them to its sign-in, which sent them back)."""
    client.force_login(world.users["project_admin"])
    response = client.get(path, follow=True)
    assert response.status_code == 403
    assert len(response.redirect_chain) <= 1
    assert "The admin is for hub admins only" in page(response)


def test_staff_still_get_the_admin(client, world):
    client.force_login(world.users["hub_admin"])
    assert client.get("/admin/").status_code == 200
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302 and response["Location"] == reverse("admin:index")


def test_anonymous_users_are_sent_to_sign_in(client, db):
    response = client.get("/admin/", follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0].startswith(reverse("account_login"))
    assert "next=/admin/" in response.redirect_chain[-1][0]
