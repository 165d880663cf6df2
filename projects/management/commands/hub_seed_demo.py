"""`make run` seeds the demo with this command (hub/devserver.py): the project is made
through the projects services, so it is validated and audited like any other, and only
what is missing is made, so running it again changes nothing."""

import secrets

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from projects import services
from projects.choices import Role
from projects.models import Membership, Project, Service

DEMO_PROJECT = "demo"
DEMO_SERVICE = "hello-world-app"

DEMO_USERS = (
    # username, email, hub admin
    ("admin", "admin@example.com", True),
    ("developer", "developer@example.com", False),
)


class Command(BaseCommand):
    help = (
        "Create the demo data (a hub admin, a plain user, project 'demo' with service "
        "'hello-world-app') if missing, and print the demo sign-in details."
    )

    def handle(self, *args, **options):
        passwords = self._passwords()
        User = get_user_model()
        with transaction.atomic():
            users, known = {}, {}
            for username, email, staff in DEMO_USERS:
                user, created = User.objects.get_or_create(
                    username=username,
                    defaults={"email": email, "is_staff": staff, "is_superuser": staff},
                )
                if created:
                    user.set_password(passwords[username])
                    user.save(update_fields=["password"])
                    # The demo's addresses count as verified (nobody can follow a link to
                    # example.com); an address counts only once verified.
                    EmailAddress.objects.get_or_create(
                        user=user, email=email, defaults={"verified": True, "primary": True}
                    )
                users[username] = user
                # A user that existed before (e.g. var/ was wiped but the database kept)
                # may have another password: never print one that does not work.
                known[username] = created or user.check_password(passwords[username])
            self._seed_project(admin=users["admin"], developer=users["developer"])
        self.stdout.write("Demo sign-in (these passwords are stored in var/demo-passwords):")
        for username, _, staff in DEMO_USERS:
            role = "hub admin" if staff else "project member"
            password = passwords[username] if known[username] else "(set earlier, not shown)"
            self.stdout.write(f"  {username:<10} {password}   ({role})")

    def _seed_project(self, *, admin, developer) -> None:
        """Project `demo` (admin: its first project admin), the developer as a member and
        the guide's service; each only if missing, so what people changed stays."""
        project = Project.objects.filter(shortname=DEMO_PROJECT).first()
        if project is None:
            project = services.project_create(
                actor=admin,
                shortname=DEMO_PROJECT,
                name="Demo project",
                description="A project to try the hub with.",
                admin=admin,
            )
        if not Membership.objects.filter(project=project, user=developer).exists():
            services.membership_add(actor=admin, project=project, user=developer, role=Role.MEMBER)
        if not Service.objects.filter(project=project, name=DEMO_SERVICE).exists():
            services.service_create(
                actor=admin,
                project=project,
                name=DEMO_SERVICE,
                description="The guide's example service.",
            )

    def _passwords(self) -> dict[str, str]:
        """Generated once, kept under var/ so every run prints the same ones."""
        path = settings.VAR_DIR / "demo-passwords"
        stored = {}
        if path.exists():
            for line in path.read_text().splitlines():
                name, _, password = line.partition(" ")
                stored[name] = password
        for username, _, _ in DEMO_USERS:
            stored.setdefault(username, secrets.token_urlsafe(9))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(f"{k} {v}\n" for k, v in stored.items()))
        path.chmod(0o600)
        return stored
