"""What `manage.py hub_probe` asks: Kubernetes exec probes of the worker and of beat."""

from celery.utils.nodenames import default_nodename
from django.conf import settings

from . import heartbeat
from .celery import app as celery_app


def worker_answers(*, name: str | None, timeout: float) -> tuple[bool, str]:
    """Whether the worker `name` (celery@<this host>: the one in this pod) answers a ping
    over the broker within `timeout` seconds."""
    node = name or default_nodename(None)
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=timeout)
            replies = celery_app.control.ping(destination=[node], timeout=timeout, connection=conn)
    except Exception as exc:
        return False, f"worker {node}: broker unreachable ({exc.__class__.__name__})"
    if any(node in reply for reply in replies):
        return True, f"worker {node}: answered"
    return False, f"worker {node}: no answer within {timeout:g}s"


def beat_is_fresh() -> tuple[bool, str]:
    try:
        state = heartbeat.beat_state()
    except Exception as exc:
        return False, f"beat: heartbeat unreadable ({exc.__class__.__name__})"
    if state.age_seconds is None:
        return False, "beat: no heartbeat recorded yet"
    limit = settings.HUB_BEAT_STALE_AFTER
    if state.stale:
        return False, f"beat: heartbeat {state.age_seconds:g}s old (stale after {limit:g}s)"
    return True, f"beat: heartbeat {state.age_seconds:g}s old"
