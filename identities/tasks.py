"""Thin Celery interfaces: load by id, run the converging service, retry or fail.

Every task is named explicitly: services enqueue them by these names
(hub.tasks.enqueue_on_commit), so they never import this module, which imports them."""

import logging

from celery import shared_task

from hub.aws import AwsPermanentError, AwsTransientError
from hub.tasks import RetryingTask, converge

from . import services

logger = logging.getLogger(__name__)


@shared_task(
    bind=True, base=RetryingTask, acks_late=True, name="identities.tasks.provision_identity"
)
def provision_identity(self, identity_id: int) -> None:
    converge(
        self,
        work=services.ecr_identity_provision,
        on_retry=services.ecr_identity_note_retrying,
        on_failed=services.ecr_identity_mark_failed,
        object_id=identity_id,
    )


@shared_task(
    bind=True, base=RetryingTask, acks_late=True, name="identities.tasks.disable_identity_keys"
)
def disable_identity_keys(self, identity_id: int) -> None:
    converge(
        self,
        work=services.ecr_identity_disable_keys,
        on_retry=services.ecr_identity_note_retrying,
        on_failed=services.ecr_identity_mark_failed,
        object_id=identity_id,
    )


# Celery retries a transient failure itself (autoretry_for, with RetryingTask's limit and
# backoff); past the last retry the task fails with that error in the worker log.
@shared_task(
    base=RetryingTask,
    autoretry_for=(AwsTransientError,),
    acks_late=True,
    name="identities.tasks.delete_iam_user",
)
def delete_iam_user(name: str) -> None:
    """Delete a hub IAM user whose row is already gone (a deleted person or robot): there
    is no row to mark failed, so a permanent failure is logged for the operators."""
    try:
        services.iam_user_delete(name)
    except AwsPermanentError as exc:
        logger.error("Could not delete IAM user %s: %s", name, exc.reason)
