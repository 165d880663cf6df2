"""Celery beat's scheduler with a heartbeat: its own loop records `beat` in the database
(hub.heartbeat) at least every HUB_BEAT_HEARTBEAT_EVERY seconds.

Recorded by beat itself, not by a task a worker runs: a dead worker must not make beat look
dead (and restart it); whether periodic work gets done shows in the reconciler's last
successful pass."""

import logging
import time

from celery.beat import PersistentScheduler
from django.conf import settings
from django.db import close_old_connections

from hub import heartbeat, worker_metrics

logger = logging.getLogger(__name__)


class HeartbeatScheduler(PersistentScheduler):
    _last_heartbeat = 0.0

    def tick(self, *args, **kwargs):
        interval = super().tick(*args, **kwargs)
        every = settings.HUB_BEAT_HEARTBEAT_EVERY
        if time.monotonic() - self._last_heartbeat >= every:
            self._heartbeat()
        return min(interval, every)

    def _heartbeat(self) -> None:
        try:
            close_old_connections()  # a connection the database dropped is not reused
            heartbeat.record(heartbeat.BEAT)
        except Exception as exc:
            # The database is away: the heartbeat goes stale, which is what it is for.
            logger.warning("beat: could not record the heartbeat (%s)", exc.__class__.__name__)
            return
        self._last_heartbeat = time.monotonic()
        worker_metrics.beat_heartbeat_recorded()
