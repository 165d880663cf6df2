"""The one place that builds boto3 clients and turns AWS failures into the hub's two kinds:
transient (retry later) and permanent (mark the object failed with a reason). Gateways
(`docker_repos/ecr.py`, `identities/iam.py`) use these; nothing else imports boto3."""

import os
from contextlib import contextmanager
from functools import lru_cache

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)
from django.conf import settings

TRANSIENT_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "RequestThrottled",
        "SlowDown",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalFailure",
        "InternalError",
        "InternalServerError",
        "ServerException",
        "RequestTimeout",
        "RequestTimeoutException",
        "PriorRequestNotComplete",
    }
)


class AwsError(Exception):
    """An AWS call failed. `reason` is a sentence a user understands; never a secret."""

    transient = False

    def __init__(self, reason: str, *, code: str = ""):
        super().__init__(reason)
        self.reason = reason
        self.code = code


class AwsTransientError(AwsError):
    transient = True


class AwsPermanentError(AwsError):
    pass


def client(service_name: str):
    """A boto3 client for the configured region and endpoint. Clients are thread-safe and
    costly to build (tens of milliseconds), so each configuration's client is built once."""
    return _client(
        service_name,
        settings.AWS_ENDPOINT_URL or None,
        settings.AWS_DEFAULT_REGION,
        settings.HUB_AWS_CONNECT_TIMEOUT,
        settings.HUB_AWS_READ_TIMEOUT,
        settings.HUB_AWS_MAX_ATTEMPTS,
        _credentials_fingerprint(),
        boto3._get_default_session(),
    )


def _credentials_fingerprint() -> tuple:
    # A change of credentials in the environment (tests, a rotated key) gets a new client.
    return tuple(
        os.environ.get(name, "")
        for name in (
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_PROFILE",
        )
    )


@lru_cache(maxsize=32)
def _client(
    service_name,
    endpoint_url,
    region,
    connect_timeout,
    read_timeout,
    max_attempts,
    _credentials,
    session,
):
    config = Config(
        region_name=region,
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        # botocore retries throttling and 5xx itself first; Celery retries after that.
        retries={"mode": "standard", "total_max_attempts": max_attempts},
    )
    # From boto3's default session, so event handlers registered on it apply (tests).
    made = session.client(service_name, config=config, endpoint_url=endpoint_url)
    for hook in CLIENT_HOOKS:
        hook(made)
    return made


# Functions called with every new client, e.g. to register botocore event handlers that
# count calls (benchmarks). Call reset_clients() after changing this list.
CLIENT_HOOKS: list = []


def reset_clients() -> None:
    """Forget the built clients: the next call builds new ones, with the default session's
    event handlers and CLIENT_HOOKS as they are now."""
    _client.cache_clear()


def error_code(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "")


def classify(exc: Exception, doing: str) -> AwsError:
    """Turn a botocore exception into AwsTransientError or AwsPermanentError."""
    if isinstance(
        exc, (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError, ConnectionError)
    ):
        return AwsTransientError(f"AWS unreachable while trying to {doing}", code="Unreachable")
    if isinstance(exc, ClientError):
        code = error_code(exc)
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        message = exc.response.get("Error", {}).get("Message", "") or code
        if code in TRANSIENT_CODES or status >= 500 or status == 429:
            return AwsTransientError(
                f"AWS is busy ({code or status}) while trying to {doing}", code=code
            )
        if code in (
            "AccessDenied",
            "AccessDeniedException",
            "UnrecognizedClientException",
            "InvalidClientTokenId",
            "SignatureDoesNotMatch",
        ):
            return AwsPermanentError(
                f"AWS denied the hub permission to {doing} ({code}): an operator must check "
                "the hub's IAM policy",
                code=code,
            )
        if code in (
            "InvalidParameterException",
            "InvalidParameterValue",
            "ValidationException",
            "ValidationError",
            "MalformedPolicyDocument",
            "MalformedPolicyDocumentException",
            "InvalidTagParameterException",
        ):
            return AwsPermanentError(f"AWS refused the request to {doing}: {message}", code=code)
        if code in ("LimitExceededException", "LimitExceeded", "TooManyTagsException"):
            return AwsPermanentError(
                f"An AWS limit was reached while trying to {doing}: {message}", code=code
            )
        return AwsPermanentError(f"AWS failed to {doing} ({code}): {message}", code=code)
    if isinstance(exc, NoCredentialsError):
        return AwsPermanentError(
            f"The hub has no AWS credentials, so it cannot {doing}: an "
            "operator must configure them",
            code="NoCredentials",
        )
    if isinstance(exc, BotoCoreError):
        return AwsTransientError(
            f"AWS call failed while trying to {doing}: {exc.__class__.__name__}",
            code=exc.__class__.__name__,
        )
    raise exc


@contextmanager
def aws_call(doing: str, *, ok_codes: tuple[str, ...] = ()):
    """Run AWS calls, re-raising failures as AwsError. `ok_codes` are error codes the caller
    handles itself (e.g. RepositoryNotFoundException on delete): those pass through."""
    try:
        yield
    except ClientError as exc:
        if error_code(exc) in ok_codes:
            raise
        raise classify(exc, doing) from exc
    except BotoCoreError as exc:
        raise classify(exc, doing) from exc
