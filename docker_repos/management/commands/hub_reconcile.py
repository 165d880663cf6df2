from django.core.management.base import BaseCommand

from docker_repos.reconcile import reconcile


class Command(BaseCommand):
    help = (
        "Re-send stuck requests and repair drift between the database and ECR "
        "(what Celery beat runs every minute)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="Print what would change, change nothing."
        )

    def handle(self, *args, dry_run, **options):
        report = reconcile(dry_run=dry_run)
        for line in report.lines():
            self.stdout.write(line)
        if report.errors:
            raise SystemExit(1)
