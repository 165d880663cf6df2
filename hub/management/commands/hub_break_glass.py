from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from hub.audit import audit
from hub.breakglass import LINK_MAX_AGE, make_link_path


class Command(BaseCommand):
    help = (
        "Print a one-time sign-in link for a staff account (break-glass when people "
        "sign in only through the identity provider)."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--base-url", default="", help="e.g. https://hub.example.com")

    def handle(self, *args, username, base_url, **options):
        user = (
            get_user_model()
            .objects.filter(username=username, is_active=True, is_staff=True)
            .first()
        )
        if user is None:
            raise CommandError(f"No active staff account {username!r}.")
        audit(
            actor=None,
            action="user.break_glass_link_created",
            target=user,
            detail={"user": user.username},
        )
        base = base_url.rstrip("/") or (
            f"https://{settings.ALLOWED_HOSTS[0]}" if settings.ALLOWED_HOSTS else ""
        )
        self.stdout.write(f"{base}{make_link_path(user)}")
        self.stdout.write(f"Valid once, for {LINK_MAX_AGE // 60} minutes.")
