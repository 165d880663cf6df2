from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from identities.services import api_token_create


class Command(BaseCommand):
    help = "Create a personal API token for a user and print it (it is stored hashed)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="created from the command line")

    def handle(self, *args, username, name, **options):
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"No active user '{username}'.")
        _, token = api_token_create(user=user, name=name)
        # The token alone on its own line, so scripts can capture it.
        self.stdout.write(token)
