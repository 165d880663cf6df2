"""Tasks a test worker loads (`celery worker -I tests.worker_tasks`) to show what its logs
make of secrets: logged, printed, and raised."""

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task
def log_secrets(secret: str, token: str) -> None:
    logger.info("using key %s and token %s", secret, token)
    logger.info("with extra fields", extra={"credential": secret})
    print(f"printed {secret}")  # noqa: T201 - what a careless task does


@shared_task
def fail_with_secret(secret: str) -> None:
    raise RuntimeError(f"AWS refused the key {secret}")
