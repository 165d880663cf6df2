"""Thin Celery interfaces: load by id, run the converging service, retry or fail."""

from celery import shared_task

from hub.tasks import converge

from . import services


@shared_task(bind=True, max_retries=None, acks_late=True)
def provision_repo(self, repo_id: int) -> None:
    converge(self, work=services.repo_provision, on_retry=services.repo_note_retrying,
             on_failed=services.repo_mark_failed, object_id=repo_id)


@shared_task(bind=True, max_retries=None, acks_late=True)
def destroy_repo(self, repo_id: int) -> None:
    converge(self, work=services.repo_destroy, on_retry=services.repo_note_retrying,
             on_failed=services.repo_mark_failed, object_id=repo_id)


@shared_task(ignore_result=True)
def reconcile() -> None:
    """Run by Celery beat every minute (hub/settings.py CELERY_BEAT_SCHEDULE)."""
    from .reconcile import reconcile as run

    run()
