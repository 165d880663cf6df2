"""Every error the API answers has the contract's shape:

    {"error": {"code": "<machine_code>", "message": "<human text>", "fields": {...}}}

`api_exception_handler` (REST_FRAMEWORK's EXCEPTION_HANDLER) maps the hub's own errors
(hub.exceptions), DRF's, Django's Http404 / PermissionDenied / ValidationError and AWS
failures to it, with the status code of the contract."""

import logging
import math

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from hub.aws import AwsError
from hub.exceptions import HubError, InvalidInput

logger = logging.getLogger(__name__)

NON_FIELD = "non_field_errors"


def error_body(code: str, message: str, fields: dict | None = None) -> dict:
    fields = {
        renderable(str(key)): [
            renderable(str(m))
            for m in (messages if isinstance(messages, list | tuple) else [messages])
        ]
        for key, messages in (fields or {}).items()
    }
    return {"error": {"code": code, "message": renderable(message), "fields": fields}}


def renderable(text: str) -> str:
    """`text` as UTF-8 can carry it: a message that quotes what a client sent may hold a
    lone surrogate, which would make rendering the error itself fail (a 500)."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def error_response(
    status_code: int,
    code: str,
    message: str,
    fields: dict | None = None,
    headers: dict | None = None,
) -> Response:
    return Response(error_body(code, message, fields), status=status_code, headers=headers)


def flatten_errors(detail, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail as one level: `users.1.username` for the username of the
    second entry of `users`; errors not about a field go under `non_field_errors`."""
    if isinstance(detail, dict):
        parts = [
            flatten_errors(value, _field_key(prefix, str(key))) for key, value in detail.items()
        ]
    elif isinstance(detail, list) and any(isinstance(item, dict | list) for item in detail):
        parts = [
            flatten_errors(item, f"{prefix}.{index}" if prefix else str(index))
            for index, item in enumerate(detail)
            if item
        ]
    else:
        items = detail if isinstance(detail, list) else [detail]
        parts = [{prefix or NON_FIELD: [str(item) for item in items]}]
    out: dict[str, list[str]] = {}
    for part in parts:
        for key, messages in part.items():
            out.setdefault(key or NON_FIELD, []).extend(messages)
    return out


def _field_key(prefix: str, name: str) -> str:
    """The flat key of field `name` under `prefix`; a nested object's own non-field
    errors belong to the object (`robots.0`), not to a field called non_field_errors."""
    if name == NON_FIELD and prefix:
        return prefix
    return f"{prefix}.{name}" if prefix else name


def _first_message(fields: dict[str, list[str]], default: str) -> str:
    for key, messages in fields.items():
        if messages:
            return messages[0] if key == NON_FIELD else f"{key}: {messages[0]}"
    return default


def api_exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = InvalidInput.from_django(exc)
    response = _hub_error_response(exc)
    if response is not None:
        return response
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(*(exc.args or ()))

    response = drf_exception_handler(exc, context)
    if response is None:
        # A bug in the hub, not the client's doing: log it, answer in the same shape.
        logger.exception("Unhandled error in %s", context.get("view").__class__.__name__)
        set_rollback()
        return error_response(
            status.HTTP_500_INTERNAL_SERVER_ERROR,
            "server_error",
            "The hub failed to handle this request; the operators can see the error in its log.",
        )
    response.data = _drf_error_body(exc, response)
    return response


def _hub_error_response(exc) -> Response | None:
    """The response to an error DRF does not know: the hub's own, AWS's, and Django's
    request-parsing refusals; None for any other."""
    if isinstance(exc, HubError):
        set_rollback()
        return error_response(exc.status_code, exc.code, exc.message, exc.fields)
    if isinstance(exc, AwsError):
        # Reading live data from AWS (the image list) failed: not the client's fault.
        set_rollback()
        if exc.transient:
            return error_response(
                status.HTTP_503_SERVICE_UNAVAILABLE,
                "aws_unavailable",
                exc.reason,
                headers={"Retry-After": "5"},
            )
        return error_response(status.HTTP_502_BAD_GATEWAY, "aws_error", exc.reason)
    if isinstance(exc, RequestDataTooBig):
        # Reading a body over DATA_UPLOAD_MAX_MEMORY_SIZE: the client's doing, not a bug.
        return error_response(
            status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            "request_too_large",
            f"The request body is larger than the "
            f"{settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes the hub accepts.",
        )
    if isinstance(exc, SuspiciousOperation):  # e.g. too many form fields
        return error_response(
            status.HTTP_400_BAD_REQUEST, "bad_request", str(exc) or "The request is malformed."
        )
    return None


def _drf_error_body(exc, response: Response) -> dict:
    """The contract's body for an error DRF answered (`response`, whose headers may gain
    Retry-After)."""
    if isinstance(exc, exceptions.ValidationError):
        fields = flatten_errors(exc.detail)
        message = _first_message(fields, "Invalid input.")
        if list(fields) == [NON_FIELD]:
            message, fields = fields[NON_FIELD][0], {}
        return error_body("invalid", message, fields)
    if isinstance(exc, exceptions.Throttled):
        wait = getattr(exc, "wait", None)  # seconds; set by Throttled, not in DRF's stubs
        if wait is None:
            wait = 1
        response["Retry-After"] = str(max(1, math.ceil(wait)))
        message = (
            f"Too many requests: try again in {response['Retry-After']} "
            f"second{'s' if response['Retry-After'] != '1' else ''}."
        )
        return error_body("throttled", message)
    # DRF answered only for its own exceptions (Django's were turned into them above), and
    # apart from ValidationError each carries one message.
    return error_body(getattr(exc, "default_code", "error"), str(exc.detail))
