"""Thin Celery interfaces: load by id, run the converging service, retry or fail.

Every task is named explicitly: services enqueue them by these names
(hub.tasks.enqueue_on_commit), so they never import this module, which imports them."""

import logging

from celery import shared_task

from hub.aws import AwsError
from hub.tasks import backoff_seconds, converge

from . import services

logger = logging.getLogger(__name__)


@shared_task(bind=True, max_retries=None, acks_late=True,
             name="identities.tasks.provision_identity")
def provision_identity(self, identity_id: int) -> None:
    converge(self, work=services.ecr_identity_provision,
             on_retry=services.ecr_identity_note_retrying,
             on_failed=services.ecr_identity_mark_failed, object_id=identity_id)


@shared_task(bind=True, max_retries=None, acks_late=True,
             name="identities.tasks.disable_identity_keys")
def disable_identity_keys(self, identity_id: int) -> None:
    converge(self, work=services.ecr_identity_disable_keys,
             on_retry=services.ecr_identity_note_retrying,
             on_failed=services.ecr_identity_mark_failed, object_id=identity_id)


@shared_task(bind=True, max_retries=6, acks_late=True, name="identities.tasks.delete_iam_user")
def delete_iam_user(self, name: str) -> None:
    """Delete a hub IAM user whose row is already gone (a deleted person or robot): there
    is no row to mark failed, so a permanent failure is logged for the operators."""
    try:
        services.iam_user_delete(name)
    except AwsError as exc:
        if exc.transient and self.request.retries < self.max_retries:
            raise self.retry(countdown=backoff_seconds(self.request.retries), exc=exc) from None
        logger.error("Could not delete IAM user %s: %s", name, exc.reason)
