from django.core.management.base import BaseCommand

from hub import probing


class Command(BaseCommand):
    help = (
        "Exec probes for Kubernetes. `worker`: the Celery worker of this host answers a "
        "ping within --timeout. `beat`: Celery beat's heartbeat is younger than "
        "HUB_BEAT_STALE_AFTER. Exit 0 when healthy, 1 otherwise."
    )

    def add_arguments(self, parser):
        parser.add_argument("process", choices=["worker", "beat"])
        parser.add_argument(
            "--timeout",
            type=float,
            default=5.0,
            help="seconds to wait for the worker's answer (worker)",
        )
        parser.add_argument(
            "--name", default="", help="the worker's node name (default: celery@<this host>)"
        )

    def handle(self, *args, process, timeout, name, **options):
        if process == "worker":
            ok, line = probing.worker_answers(name=name or None, timeout=timeout)
        else:
            ok, line = probing.beat_is_fresh()
        (self.stdout if ok else self.stderr).write(line)
        if not ok:
            raise SystemExit(1)
