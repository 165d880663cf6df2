from django.core.management.base import BaseCommand

from hub.reencrypt import reencrypt


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored secret with the first key of HUB_FERNET_KEYS, so older "
        "keys can be removed. Prints counts only; audited. Exits 1 if a secret could "
        "not be decrypted (or, with --check, if any is not on the first key)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--check",
            action="store_true",
            help="Change nothing; count the secrets not on the first key.",
        )
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, check, batch_size, **options):
        reports = reencrypt(check=check, batch_size=batch_size)
        for report in reports:
            self.stdout.write(report.line(check=check))
        pending = sum(r.not_on_first_key for r in reports) if check else 0
        unreadable = sum(r.unreadable for r in reports)
        if check:
            self.stdout.write(
                f"{pending} secret{'s' if pending != 1 else ''} not on the "
                "first key." + ("" if pending else " Older keys can be removed.")
            )
        if unreadable:
            self.stderr.write(
                f"{unreadable} stored secret(s) cannot be decrypted with any "
                "key of HUB_FERNET_KEYS: do not remove a key before they are "
                "dealt with."
            )
        if pending or unreadable:
            raise SystemExit(1)
