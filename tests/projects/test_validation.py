"""Bad input gets a clear message on the form and changes nothing."""

import re
from contextlib import contextmanager

import pytest
from django.contrib.staticfiles import finders
from django.db import IntegrityError, transaction
from django.urls import reverse

from docker_repos.models import DockerRepo
from hub.exceptions import Conflict, InvalidInput, NotAllowed
from hub.limits import DESCRIPTION_MAX
from projects import services
from projects.choices import Role
from projects.models import Membership, Project, Service
from tests.helpers import assert_shows, db_state, page, state_diff

SHORTNAME_RULE = "Use lowercase letters, digits and hyphens, starting with a letter."


@pytest.fixture
def unchanged(db):
    """`with unchanged():` asserts the block leaves every row of the hub as it was."""

    @contextmanager
    def check():
        before = db_state()
        yield
        after = db_state()
        assert after == before, state_diff(before, after)

    return check


def signed_in(client, user):
    client.force_login(user)
    return client


def message_after_redirect(client, response) -> str:
    """Follow the post/redirect/get and return the page the person sees."""
    assert response.status_code == 302
    return client.get(response["Location"])


# --- Project shortnames -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("shortname", "message"),
    [
        ("Acme", SHORTNAME_RULE),
        ("ACME", SHORTNAME_RULE),
        ("1acme", SHORTNAME_RULE),
        ("-acme", SHORTNAME_RULE),
        ("ac_me", SHORTNAME_RULE),
        ("ac me", SHORTNAME_RULE),
        ("a", "Ensure this value has at least 2 characters (it has 1)."),
        ("a" * 31, "Ensure this value has at most 30 characters (it has 31)."),
        ("acp", "A project with this shortname already exists."),
        ("new", "'new' is reserved by the hub: choose another."),
    ],
)
def test_project_create_refuses_bad_shortname(client, world, unchanged, shortname, message):
    signed_in(client, world.users["hub_admin"])
    with unchanged():
        response = client.post(
            reverse("projects:create"),
            {
                "shortname": shortname,
                "name": "Acme",
                "repo_management": "members",
            },
        )
    assert response.status_code == 400
    assert_shows(response, message)


@pytest.mark.parametrize("shortname", ["Acme", "1acme", "a", "a" * 31, "ac_me", "new"])
def test_project_create_service_refuses_bad_shortname(world, unchanged, shortname):
    """The service (which the API calls too) refuses them with a message on the field."""
    with unchanged(), pytest.raises(InvalidInput) as raised:
        services.project_create(actor=world.users["hub_admin"], shortname=shortname, name="Acme")
    assert raised.value.fields["shortname"]
    assert raised.value.message


def test_project_create_service_refuses_a_duplicate_as_a_conflict(world, unchanged):
    with unchanged(), pytest.raises(Conflict) as raised:
        services.project_create(actor=world.users["hub_admin"], shortname="acp", name="Acme")
    assert raised.value.fields == {"shortname": ["A project with this shortname already exists."]}


@pytest.mark.parametrize("shortname", ["ab", "a" * 30, "a1-b2", "team-42"])
def test_project_create_accepts_good_shortnames(client, world, shortname):
    signed_in(client, world.users["hub_admin"])
    response = client.post(
        reverse("projects:create"),
        {
            "shortname": shortname,
            "name": "Acme",
            "repo_management": "members",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("projects:detail", args=[shortname])
    assert Project.objects.filter(shortname=shortname).exists()


def test_project_create_with_a_first_admin(client, world):
    signed_in(client, world.users["hub_admin"])
    response = client.post(
        reverse("projects:create"),
        {
            "shortname": "acme",
            "name": "Acme",
            "repo_management": "admins",
            "admin": "OUTSIDER@example.com",
        },
    )
    assert response.status_code == 302
    project = Project.objects.get(shortname="acme")
    assert project.repo_management == "admins"
    assert list(project.memberships.values_list("user__username", "role")) == [
        ("outsider", Role.ADMIN)
    ]


def test_project_create_with_an_unknown_first_admin_creates_nothing(client, world, unchanged):
    signed_in(client, world.users["hub_admin"])
    with unchanged():
        response = client.post(
            reverse("projects:create"),
            {
                "shortname": "acme",
                "name": "Acme",
                "repo_management": "members",
                "admin": "ghost",
            },
        )
    assert response.status_code == 400
    assert_shows(response, "No active user 'ghost' exists in the hub.")


def test_project_create_needs_a_name(client, world, unchanged):
    signed_in(client, world.users["hub_admin"])
    with unchanged():
        response = client.post(
            reverse("projects:create"),
            {
                "shortname": "acme",
                "name": "",
                "repo_management": "members",
            },
        )
    assert response.status_code == 400
    assert_shows(response, "This field is required.")


def test_only_hub_admins_create_projects_in_the_service(world, unchanged):
    with unchanged(), pytest.raises(NotAllowed):
        services.project_create(actor=world.users["project_admin"], shortname="acme", name="Acme")


def test_shortname_cannot_change(world):
    with pytest.raises(InvalidInput, match="Cannot change: shortname"):
        services.project_update(
            actor=world.users["hub_admin"], project=world.project, shortname="renamed"
        )
    assert Project.objects.filter(shortname="acp").exists()


def assert_refused_to_the_overview(response) -> None:
    """A refused overview form (settings, add a person): redirected to the overview, which
    shows the form again with its errors (post/redirect/get: a reload posts nothing)."""
    assert response.redirect_chain == [(reverse("projects:detail", args=["acp"]), 302)]
    assert response.status_code == 200


def test_project_settings_refuse_an_unknown_repo_management(client, world, unchanged):
    signed_in(client, world.users["project_admin"])
    with unchanged():
        response = client.post(
            reverse("projects:settings", args=["acp"]),
            {
                "name": "ACP",
                "repo_management": "everyone",
            },
            follow=True,
        )
    assert_refused_to_the_overview(response)
    assert_shows(response, "Select a valid choice. everyone is not one of the available choices.")


def test_project_settings_save(client, world):
    signed_in(client, world.users["project_admin"])
    response = client.post(
        reverse("projects:settings", args=["acp"]),
        {
            "name": "Access Control",
            "description": "Gatekeeping",
            "repo_management": "admins",
        },
    )
    assert response.status_code == 302
    world.project.refresh_from_db()
    assert (world.project.name, world.project.description, world.project.repo_management) == (
        "Access Control",
        "Gatekeeping",
        "admins",
    )


# --- Services -------------------------------------------------------------------------


def test_duplicate_service_name_is_refused(client, world, unchanged):
    signed_in(client, world.users["project_admin"])
    with unchanged():
        response = client.post(
            reverse("projects:services", args=["acp"]),
            {"name": "hello-world-app", "description": "again"},
        )
    assert response.status_code == 400
    assert_shows(response, "This project already has a service with this name.")


def test_service_names_are_unique_ignoring_case(world):
    """Names are lowercase by rule; the database refuses a case variant even so."""
    with pytest.raises(IntegrityError), transaction.atomic():
        Service.objects.create(project=world.project, name="Hello-World-App")


def test_uppercase_service_name_is_refused_with_the_rule(client, world, unchanged):
    signed_in(client, world.users["project_admin"])
    with unchanged():
        response = client.post(
            reverse("projects:services", args=["acp"]), {"name": "HELLO-WORLD-APP"}
        )
    assert response.status_code == 400
    assert_shows(response, "Use lowercase letters and digits, separated by single '.', '_' or '-'.")


def test_same_service_name_is_fine_in_another_project(client, world):
    signed_in(client, world.users["other_admin"])
    response = client.post(
        reverse("projects:services", args=["other"]), {"name": "hello-world-app"}
    )
    assert response.status_code == 302
    assert Service.objects.filter(name="hello-world-app").count() == 2
    assert Service.objects.filter(project=world.other, name="hello-world-app").exists()


def test_renaming_a_service_onto_another_is_refused(client, world, unchanged):
    Service.objects.create(project=world.project, name="billing")
    signed_in(client, world.users["project_admin"])
    with unchanged():
        response = client.post(
            reverse("projects:service-edit", args=["acp", world.service.pk]),
            {"name": "billing", "description": "x"},
        )
    assert response.status_code == 400
    assert_shows(response, "This project already has a service with this name.")
    # The page still names the service by its saved name, not the refused one.
    assert 'Edit service <span class="mono">hello-world-app</span>' in page(response)


def test_service_edit_keeping_its_own_name(client, world):
    signed_in(client, world.users["project_admin"])
    response = client.post(
        reverse("projects:service-edit", args=["acp", world.service.pk]),
        {"name": "hello-world-app", "description": "The example"},
    )
    assert response.status_code == 302
    world.service.refresh_from_db()
    assert world.service.description == "The example"


def test_deleting_a_service_with_repositories_is_refused(client, world, unchanged):
    DockerRepo.objects.create(project=world.project, service=world.service, name="web")
    signed_in(client, world.users["project_admin"])
    with unchanged():
        response = client.post(reverse("projects:service-delete", args=["acp", world.service.pk]))
    shown = message_after_redirect(client, response)
    assert_shows(
        shown,
        "Service 'hello-world-app' still has 1 Docker repository. Delete them "
        "first, so no ECR repository is left behind.",
    )


def test_service_layer_refuses_deleting_a_service_with_repositories(world, unchanged):
    for name in ("web", "worker"):
        DockerRepo.objects.create(project=world.project, service=world.service, name=name)
    with unchanged(), pytest.raises(Conflict, match="still has 2 Docker repositories"):
        services.service_delete(actor=world.users["hub_admin"], service=world.service)


# --- Members --------------------------------------------------------------------------


def test_adding_an_unknown_user_is_refused(client, world, unchanged):
    signed_in(client, world.users["project_admin"])
    with unchanged():
        response = client.post(
            reverse("projects:member-add", args=["acp"]),
            {"user": "ghost", "role": "member"},
            follow=True,
        )
    assert_refused_to_the_overview(response)
    assert_shows(response, "No active user 'ghost' exists in the hub.")


def test_adding_an_inactive_user_is_refused(client, world, unchanged):
    world.users["non_member"].is_active = False
    world.users["non_member"].save()
    signed_in(client, world.users["project_admin"])
    with unchanged():
        response = client.post(
            reverse("projects:member-add", args=["acp"]),
            {"user": "outsider", "role": "member"},
            follow=True,
        )
    assert_refused_to_the_overview(response)
    assert_shows(response, "No active user 'outsider' exists in the hub.")


def test_adding_an_existing_member_is_a_conflict(client, world, unchanged):
    signed_in(client, world.users["project_admin"])
    with unchanged():
        response = client.post(
            reverse("projects:member-add", args=["acp"]),
            {"user": "member", "role": "admin"},
            follow=True,
        )
    assert_refused_to_the_overview(response)
    assert_shows(response, "member is already a member of acp.")
    with unchanged(), pytest.raises(Conflict):
        services.membership_add(
            actor=world.users["project_admin"], project=world.project, user=world.users["member"]
        )


def test_adding_with_an_unknown_role_is_refused(client, world, unchanged):
    signed_in(client, world.users["project_admin"])
    with unchanged():
        response = client.post(
            reverse("projects:member-add", args=["acp"]),
            {"user": "outsider", "role": "owner"},
            follow=True,
        )
    assert_refused_to_the_overview(response)
    assert_shows(response, "Select a valid choice. owner is not one of the available choices.")
    with unchanged(), pytest.raises(InvalidInput, match="Role must be one of"):
        services.membership_add(
            actor=world.users["project_admin"], project=world.project, user="outsider", role="owner"
        )


def test_adding_by_email_works(client, world):
    signed_in(client, world.users["project_admin"])
    response = client.post(
        reverse("projects:member-add", args=["acp"]),
        {"user": "Outsider@Example.com", "role": "admin"},
    )
    assert response.status_code == 302
    assert (
        Membership.objects.get(project=world.project, user=world.users["non_member"]).role
        == Role.ADMIN
    )


@pytest.mark.parametrize("actor", ["project_admin", "hub_admin"])
def test_removing_the_last_project_admin_is_refused(client, world, unchanged, actor):
    signed_in(client, world.users[actor])
    with unchanged():
        response = client.post(reverse("projects:member-remove", args=["acp", "padmin"]))
    assert response["Location"] == reverse("projects:detail", args=["acp"])
    shown = message_after_redirect(client, response)
    assert_shows(
        shown, "padmin is the last project admin of acp: make someone else an admin first."
    )


@pytest.mark.parametrize("actor", ["project_admin", "hub_admin"])
def test_demoting_the_last_project_admin_is_refused(client, world, unchanged, actor):
    signed_in(client, world.users[actor])
    with unchanged():
        response = client.post(
            reverse("projects:member-role", args=["acp", "padmin"]), {"role": "member"}
        )
    shown = message_after_redirect(client, response)
    assert_shows(
        shown, "padmin is the last project admin of acp: make someone else an admin first."
    )


def test_an_admin_may_step_down_once_there_is_another(client, world):
    services.membership_change_role(
        actor=world.users["project_admin"],
        project=world.project,
        user=world.users["member"],
        role=Role.ADMIN,
    )
    signed_in(client, world.users["project_admin"])
    response = client.post(
        reverse("projects:member-role", args=["acp", "padmin"]), {"role": "member"}
    )
    assert response.status_code == 302
    assert Membership.objects.get(user=world.users["project_admin"]).role == Role.MEMBER
    # padmin is no admin any more, so they may not manage members...
    assert client.post(reverse("projects:member-remove", args=["acp", "member"])).status_code == 403
    # ...and the new admin may not leave either: they are now the last one.
    with pytest.raises(Conflict, match="member is the last project admin of acp"):
        services.membership_remove(
            actor=world.users["hub_admin"], project=world.project, user=world.users["member"]
        )


def test_changing_to_an_unknown_role_is_refused(client, world, unchanged):
    signed_in(client, world.users["project_admin"])
    with unchanged():
        response = client.post(
            reverse("projects:member-role", args=["acp", "member"]), {"role": "owner"}
        )
    shown = message_after_redirect(client, response)
    assert_shows(shown, "Select a valid choice. owner is not one of the available choices.")


def test_removing_someone_who_is_not_a_member(client, world, unchanged):
    signed_in(client, world.users["project_admin"])
    with unchanged():
        response = client.post(reverse("projects:member-remove", args=["acp", "outsider"]))
    shown = message_after_redirect(client, response)
    assert_shows(shown, "outsider is not a member of acp.")


def test_removing_a_user_who_does_not_exist_is_404(client, world, unchanged):
    signed_in(client, world.users["project_admin"])
    with unchanged():
        response = client.post(reverse("projects:member-remove", args=["acp", "ghost"]))
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("url_name", "args", "data"),
    [
        ("projects:member-add", ["acp"], {"user": "outsider", "role": "member"}),
        ("projects:member-role", ["acp", "member"], {"role": "admin"}),
        ("projects:member-remove", ["acp", "padmin"], {}),
        ("projects:settings", ["acp"], {"name": "Mine", "repo_management": "admins"}),
        ("projects:services", ["acp"], {"name": "sneaky"}),
        ("projects:service-delete", ["acp", "SERVICE"], {}),
    ],
)
def test_a_member_trying_an_admin_action_is_told_why(
    client, world, unchanged, url_name, args, data
):
    args = [world.service.pk if a == "SERVICE" else a for a in args]
    signed_in(client, world.users["member"])
    with unchanged():
        response = client.post(reverse(url_name, args=args), data)
    assert response.status_code == 403
    assert "Only project admins can" in page(response)


def test_a_member_trying_an_admin_action_in_the_service_layer(world, unchanged):
    member = world.users["member"]
    with unchanged():
        for call in (
            lambda: services.membership_add(actor=member, project=world.project, user="outsider"),
            lambda: services.membership_remove(
                actor=member, project=world.project, user=world.users["project_admin"]
            ),
            lambda: services.membership_change_role(
                actor=member, project=world.project, user=member, role=Role.ADMIN
            ),
            lambda: services.project_update(actor=member, project=world.project, name="x"),
            lambda: services.service_create(actor=member, project=world.project, name="x"),
            lambda: services.service_update(actor=member, service=world.service, name="y"),
            lambda: services.service_delete(actor=member, service=world.service),
        ):
            with pytest.raises(NotAllowed, match="Only project admins can do this."):
                call()


def test_a_hidden_project_looks_exactly_like_a_missing_one(client, world):
    """The non-member's 404 for an existing project is the 404 of a project that isn't."""

    signed_in(client, world.users["non_member"])

    def body(shortname):
        response = client.get(reverse("projects:detail", args=[shortname]))
        assert response.status_code == 404
        return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", page(response))

    assert body("acp") == body("zzz")
    assert "ACP" not in body("acp")


def test_a_refused_settings_form_lives_at_the_overview_not_the_post_address(
    client, world, unchanged
):
    """Post/redirect/get: the errors are shown by the overview (the form as typed, each
    error at its field), once; the POST-only address opened as a page is the hub's own
    page pointing at the overview, not a blank 405."""
    signed_in(client, world.users["project_admin"])
    overview = reverse("projects:detail", args=["acp"])
    with unchanged():
        response = client.post(
            reverse("projects:settings", args=["acp"]),
            {"name": "", "description": "Kept as typed", "repo_management": "admins"},
        )
    assert response.status_code == 302 and response["Location"] == overview
    body = page(client.get(overview))
    assert "Kept as typed" in body
    assert re.search(r'<input type="text" name="name"[^>]*aria-invalid="true"', body)
    assert body.count("This field is required.") == 1
    # Shown once: the overview afterwards has the saved settings again.
    again = page(client.get(overview))
    assert "Kept as typed" not in again and "This field is required." not in again

    opened = client.get(reverse("projects:settings", args=["acp"]))
    assert opened.status_code == 405
    assert f'href="{overview}"' in page(opened)
    assert "This address is a form's, not a page" in page(opened)


def test_a_refused_person_keeps_the_services_reason_after_the_redirect(client, world):
    signed_in(client, world.users["project_admin"])
    response = client.post(
        reverse("projects:member-add", args=["acp"]),
        {"user": "ghost", "role": "admin"},
        follow=True,
    )
    assert_refused_to_the_overview(response)
    body = page(response)
    assert re.search(
        r'<input type="text" name="user" value="ghost"[^>]*aria-invalid="true"', body
    ), "the field as typed, marked"
    assert 'value="admin" selected' in body


def test_a_role_changes_only_with_its_save_button(client, world):
    """No select applies on change (an arrow key on a focused role made a member project
    admin): each role has its own Save, and the page's script submits nothing by itself."""
    signed_in(client, world.users["project_admin"])
    body = page(client.get(reverse("projects:detail", args=["acp"])))
    forms = re.findall(
        r'<form method="post" action="/projects/acp/members/[^/]+/role/".*?</form>', body, re.S
    )
    assert len(forms) == Membership.objects.filter(project=world.project).count()
    for form in forms:
        assert re.search(
            r'<button type="submit"[^>]*>Save role<span class="visually-hidden">', form
        ), form
        assert "data-autosubmit" not in form and "<noscript>" not in form
    script = open(finders.find("hub/hub.js")).read()
    assert "requestSubmit" not in script and ".submit(" not in script


def test_too_long_descriptions_and_names_get_a_clear_error_at_the_field(client, world, unchanged):

    signed_in(client, world.users["project_admin"])
    too_long = "x" * (DESCRIPTION_MAX + 1)
    with unchanged():
        response = client.post(
            reverse("projects:services", args=["acp"]), {"name": "s" * 64, "description": too_long}
        )
        settings_page = client.post(
            reverse("projects:settings", args=["acp"]),
            {"name": "ACP", "description": too_long, "repo_management": "members"},
            follow=True,
        )
    assert response.status_code == 400
    body = page(response)
    assert re.search(
        rf'<textarea name="description"[^>]*maxlength="{DESCRIPTION_MAX}"'
        r'[^>]*aria-invalid="true"',
        body,
    )
    assert (
        f"Ensure this value has at most {DESCRIPTION_MAX} characters (it has "
        f"{DESCRIPTION_MAX + 1})." in body
    )
    assert "Ensure this value has at most 63 characters (it has 64)." in body
    assert_refused_to_the_overview(settings_page)
    assert re.search(
        rf'<textarea name="description"[^>]*maxlength="{DESCRIPTION_MAX}"'
        r'[^>]*aria-invalid="true"',
        page(settings_page),
    )


def test_delete_service_is_disabled_with_the_reason_while_it_has_repositories(client, world):

    signed_in(client, world.users["project_admin"])
    empty = Service.objects.create(project=world.project, name="empty")
    DockerRepo.objects.create(project=world.project, service=world.service, name="web")
    DockerRepo.objects.create(project=world.project, service=world.service, name="api")
    body = page(client.get(reverse("projects:services", args=["acp"])))
    busy_delete = reverse("projects:service-delete", args=["acp", world.service.pk])
    assert f'href="{busy_delete}"' not in body, "no way to the delete that is refused"
    assert re.search(
        rf'<button type="button" class="button small danger" disabled '
        rf'aria-describedby="service-delete-why-{world.service.pk}">',
        body,
    )
    assert "Has 2 Docker repositories: delete them first" in body
    assert f'href="{reverse("projects:service-delete", args=["acp", empty.pk])}"' in body
    # The delete page itself (typed in) says so too, its button disabled.
    page_body = page(client.get(busy_delete))
    assert "still has 2 Docker repositories: delete them first." in page_body
    assert 'class="button danger" disabled aria-describedby="service-delete-why"' in page_body
