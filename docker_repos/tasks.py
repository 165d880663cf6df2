"""Thin Celery interfaces: load by id, run the converging service, retry or fail."""

from celery import shared_task

from hub.tasks import converge

from . import access, services


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


@shared_task(bind=True, max_retries=None, acks_late=True)
def sync_repo_access(self, repo_id: int) -> None:
    """Write the repository policy from the access list and record what AWS accepted."""
    converge(self, work=access.access_sync, on_retry=access.access_note_retrying,
             on_failed=access.access_mark_failed, object_id=repo_id)


@shared_task(bind=True, max_retries=None, acks_late=True)
def provision_robot(self, robot_id: int) -> None:
    converge(self, work=access.robot_provision, on_retry=access.robot_note_retrying,
             on_failed=access.robot_mark_failed, object_id=robot_id)


@shared_task(bind=True, max_retries=None, acks_late=True)
def destroy_robot(self, robot_id: int) -> None:
    converge(self, work=access.robot_destroy, on_retry=access.robot_note_retrying,
             on_failed=access.robot_mark_failed, object_id=robot_id)
