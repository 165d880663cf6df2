"""Thin Celery interfaces: load by id, run the converging service, retry or fail.

Every task is named explicitly: services enqueue them by these names
(hub.tasks.enqueue_on_commit), so they never import this module, which imports them."""

from celery import shared_task

from hub.tasks import RetryingTask, converge

from . import policy_sync, robots, services
from .reconcile import reconcile as reconcile_pass


@shared_task(bind=True, base=RetryingTask, acks_late=True, name="docker_repos.tasks.provision_repo")
def provision_repo(self, repo_id: int) -> None:
    converge(
        self,
        work=services.repo_provision,
        on_retry=services.repo_note_retrying,
        on_failed=services.repo_mark_failed,
        object_id=repo_id,
    )


@shared_task(bind=True, base=RetryingTask, acks_late=True, name="docker_repos.tasks.destroy_repo")
def destroy_repo(self, repo_id: int) -> None:
    converge(
        self,
        work=services.repo_destroy,
        on_retry=services.repo_note_retrying,
        on_failed=services.repo_mark_failed,
        object_id=repo_id,
    )


# hub/settings.py CELERY_BEAT_SCHEDULE sends this one by name every minute.
@shared_task(ignore_result=True, name="docker_repos.tasks.reconcile")
def reconcile() -> None:
    reconcile_pass()


@shared_task(
    bind=True, base=RetryingTask, acks_late=True, name="docker_repos.tasks.sync_repo_access"
)
def sync_repo_access(self, repo_id: int) -> None:
    """Write the repository policy from the access list and record what AWS accepted."""
    converge(
        self,
        work=policy_sync.access_sync,
        on_retry=policy_sync.access_note_retrying,
        on_failed=policy_sync.access_mark_failed,
        object_id=repo_id,
    )


@shared_task(
    bind=True, base=RetryingTask, acks_late=True, name="docker_repos.tasks.provision_robot"
)
def provision_robot(self, robot_id: int) -> None:
    converge(
        self,
        work=robots.robot_provision,
        on_retry=robots.robot_note_retrying,
        on_failed=robots.robot_mark_failed,
        object_id=robot_id,
    )


@shared_task(bind=True, base=RetryingTask, acks_late=True, name="docker_repos.tasks.destroy_robot")
def destroy_robot(self, robot_id: int) -> None:
    converge(
        self,
        work=robots.robot_destroy,
        on_retry=robots.robot_note_retrying,
        on_failed=robots.robot_mark_failed,
        object_id=robot_id,
    )
