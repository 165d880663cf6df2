"""The one place that builds boto3 clients. Gateways (`docker_repos/ecr.py`,
`identities/iam.py`) call `client()`; nothing else imports boto3."""

import boto3
from botocore.config import Config
from django.conf import settings


def client(service_name: str):
    config = Config(
        region_name=settings.AWS_DEFAULT_REGION,
        connect_timeout=settings.HUB_AWS_CONNECT_TIMEOUT,
        read_timeout=settings.HUB_AWS_READ_TIMEOUT,
        # botocore retries throttling and 5xx itself first; Celery retries after that.
        retries={"mode": "standard", "max_attempts": settings.HUB_AWS_MAX_ATTEMPTS},
    )
    return boto3.client(
        service_name,
        config=config,
        endpoint_url=settings.AWS_ENDPOINT_URL or None,
    )
