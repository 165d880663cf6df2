"""The error shape as one OpenAPI component, and `responses()`, which every endpoint's
`extend_schema` uses so the document lists each status code the endpoint can answer."""

from drf_spectacular.utils import OpenApiExample, OpenApiResponse
from rest_framework import serializers


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(
        help_text="A machine-readable code, e.g. `invalid`, `not_found`, `conflict`, `throttled`."
    )
    message = serializers.CharField(help_text="What went wrong, for a person.")
    # The error shape's key; DRF takes declared fields off the class, so the name is free.
    fields = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Messages per request field (`robots.0.name` for a nested one); "
        "`non_field_errors` for the request as a whole. Empty unless the input "
        "was invalid.",
    )


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


def _example(name: str, code: str, message: str, fields: dict | None = None):
    return OpenApiExample(
        name, value={"error": {"code": code, "message": message, "fields": fields or {}}}
    )


ERRORS = {
    400: (
        "Invalid input: unknown field, wrong type or invalid value.",
        _example(
            "Invalid name",
            "invalid",
            "Use lowercase letters and digits, separated by single '.', '_', '-' or "
            "'/' (no separator at the start, at the end or twice in a row).",
            {
                "name": [
                    "Use lowercase letters and digits, separated by single '.', "
                    "'_', '-' or '/' (no separator at the start, at the end or twice "
                    "in a row)."
                ]
            },
        ),
    ),
    401: (
        "Not authenticated: no, a malformed or a revoked token.",
        _example(
            "No credentials", "not_authenticated", "Authentication credentials were not provided."
        ),
    ),
    403: (
        "Authenticated but not allowed, e.g. a member trying an admin action.",
        _example("Not allowed", "permission_denied", "Only project admins can do this."),
    ),
    404: ("Unknown, or not visible to you.", _example("Not found", "not_found", "Not found.")),
    409: (
        "Wrong state, or a duplicate.",
        _example(
            "Wrong state", "conflict", "Only a failed repository can be retried; acp/web is active."
        ),
    ),
    429: (
        "Throttled: wait for the number of seconds in `Retry-After`.",
        _example("Throttled", "throttled", "Too many requests: try again in 12 seconds."),
    ),
    502: (
        "AWS refused to answer a live read.",
        _example("AWS error", "aws_error", "AWS failed to list the images of acp/web."),
    ),
    503: (
        "AWS could not be reached for a live read; try again.",
        _example(
            "AWS unreachable",
            "aws_unavailable",
            "AWS unreachable while trying to list the images of acp/web",
        ),
    ),
}


def error(status: int, description: str = "") -> OpenApiResponse:
    default, example = ERRORS[status]
    return OpenApiResponse(ErrorSerializer, description=description or default, examples=[example])


def responses(ok: dict, *statuses: int, **descriptions: str) -> dict:
    """`ok` (status → serializer or OpenApiResponse) plus the error responses `statuses`;
    401 and 429 (any endpoint) are always added. `descriptions`: `e409="..."`."""
    result = dict(ok)
    for status in sorted({401, 429, *statuses}):
        result[status] = error(status, descriptions.get(f"e{status}", ""))
    return result


def strict_request_bodies(result, generator, request, public):
    """Postprocessing hook: request bodies accept no field they do not list (the API
    answers 400 to an unknown field), so say so: `additionalProperties: false`."""
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request") and component.get("type") == "object":
            component["additionalProperties"] = False
    return result


TOO_LARGE = {
    "description": "The body is larger than the hub reads (Django's "
    "`DATA_UPLOAD_MAX_MEMORY_SIZE`, 2.5 MB).",
    "content": {
        "application/json": {
            "schema": {"$ref": "#/components/schemas/Error"},
            "examples": {
                "Too large": {
                    "value": {
                        "error": {
                            "code": "request_too_large",
                            "message": (
                                "The request body is larger than the 2621440 bytes the hub accepts."
                            ),
                            "fields": {},
                        }
                    }
                }
            },
        }
    },
}


def too_large_bodies(result, generator, request, public):
    """Postprocessing hook: every unsafe operation reads its body (those that take none
    refuse one), so each can answer 413."""
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            if method in ("post", "put", "patch", "delete"):
                operation.setdefault("responses", {}).setdefault("413", TOO_LARGE)
    return result
