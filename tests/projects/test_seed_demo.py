"""`hub_seed_demo`, which `make run` runs before starting the hub."""

import re
from io import StringIO

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command
from django.urls import reverse

from hub.models import AuditEvent
from projects.choices import Role
from projects.models import Membership, Project, Service

User = get_user_model()
LINE = re.compile(r"^\s+(\S+)\s+(\S.*?)\s+\((hub admin|project member)\)$")


@pytest.fixture
def var_dir(settings, tmp_path):
    """The demo passwords file goes to a temporary var/, not the developer's."""
    settings.VAR_DIR = tmp_path
    return tmp_path


def seed() -> tuple[str, dict[str, str]]:
    out = StringIO()
    call_command("hub_seed_demo", stdout=out)
    text = out.getvalue()
    printed = {m[1]: m[2] for m in map(LINE.match, text.splitlines()) if m}
    return text, printed


def demo_state():
    return {
        "users": list(
            User.objects.order_by("username").values_list(
                "pk", "username", "email", "is_staff", "is_superuser", "password"
            )
        ),
        "projects": list(Project.objects.values_list("pk", "shortname", "name")),
        "memberships": list(
            Membership.objects.order_by("pk").values_list(
                "pk", "project__shortname", "user__username", "role"
            )
        ),
        "services": list(Service.objects.values_list("pk", "project__shortname", "name")),
    }


def test_seed_creates_the_demo(db, var_dir):
    _, printed = seed()
    admin, developer = User.objects.get(username="admin"), User.objects.get(username="developer")
    assert (admin.is_staff, admin.is_superuser, admin.email) == (True, True, "admin@example.com")
    assert (developer.is_staff, developer.is_superuser) == (False, False)
    project = Project.objects.get(shortname="demo")
    assert set(project.memberships.values_list("user__username", "role")) == {
        ("admin", Role.ADMIN),
        ("developer", Role.MEMBER),
    }
    assert list(project.services.values_list("name", flat=True)) == ["hello-world-app"]
    assert printed.keys() == {"admin", "developer"}
    assert printed["admin"] != printed["developer"]
    assert len(printed["developer"]) >= 12


def test_printed_passwords_authenticate(client, db, var_dir):
    _, printed = seed()
    for username, password in printed.items():
        assert authenticate(username=username, password=password) is not None, username
        assert authenticate(username=username, password=password + "x") is None
    # Through the real sign-in form, as a person following `make run`'s output would.
    response = client.post(
        reverse("account_login"), {"login": "developer", "password": printed["developer"]}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("projects:list")
    assert [p.shortname for p in client.get(reverse("projects:list")).context["projects"]] == [
        "demo"
    ]


def test_seeding_twice_keeps_the_data_and_prints_the_same_passwords(db, var_dir):
    first_output, first = seed()
    state = demo_state()
    second_output, second = seed()
    assert second == first
    assert second_output == first_output
    assert demo_state() == state
    for username, password in second.items():
        assert authenticate(username=username, password=password) is not None


def test_seeding_keeps_what_people_changed(db, var_dir):
    seed()
    project = Project.objects.get(shortname="demo")
    project.name = "Renamed"
    project.save()
    Service.objects.create(project=project, name="another")
    seed()
    project.refresh_from_db()
    assert project.name == "Renamed"
    assert set(project.services.values_list("name", flat=True)) == {"hello-world-app", "another"}


def test_passwords_file_is_private(db, var_dir):
    seed()
    path = var_dir / "demo-passwords"
    assert path.stat().st_mode & 0o777 == 0o600


def test_a_password_that_no_longer_works_is_not_printed(db, var_dir):
    """If the users outlive var/ (e.g. a PostgreSQL database), the newly generated
    passwords were never set: printing them would send people to a failing sign-in."""
    _, first = seed()
    (var_dir / "demo-passwords").unlink()
    output, second = seed()
    for username in ("admin", "developer"):
        assert second[username] == "(set earlier, not shown)"
        assert first[username] not in output
    assert authenticate(username="developer", password=first["developer"]) is not None


def test_seeding_goes_through_the_services_and_twice_records_nothing_more(db, var_dir):
    """Made like any project (validated, audited: the admin's own project with its first
    admin), and a second run finds everything there."""
    seed()
    actions = list(
        AuditEvent.objects.order_by("pk").values_list(
            "action", "actor_username", "project_shortname", "target_repr"
        )
    )
    assert actions == [
        ("project.created", "admin", "demo", "demo"),
        ("membership.added", "admin", "demo", "admin in demo (admin)"),
        ("membership.added", "admin", "demo", "developer in demo (member)"),
        ("service.created", "admin", "demo", "demo/hello-world-app"),
    ]
    seed()
    assert AuditEvent.objects.count() == len(actions)
