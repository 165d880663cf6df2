"""hub.api.exceptions maps Django's own exceptions to the contract's error shape too (a view
or a library may raise them), with the status code of their DRF counterparts."""

import pytest
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework.exceptions import NotFound, ParseError

from hub.api.exceptions import api_exception_handler
from hub.aws import AwsPermanentError


@pytest.mark.parametrize(
    ("exc", "status", "code", "message", "fields"),
    [
        (Http404("gone"), 404, "not_found", "Not found.", {}),
        (PermissionDenied("Not yours."), 403, "permission_denied", "Not yours.", {}),
        (
            DjangoValidationError({"name": ["Too long."]}),
            400,
            "invalid",
            "Too long.",
            {"name": ["Too long."]},
        ),
        (AwsPermanentError("ECR refused the read"), 502, "aws_error", "ECR refused the read", {}),
        (NotFound("No such repository."), 404, "not_found", "No such repository.", {}),
        (ParseError("JSON parse error"), 400, "parse_error", "JSON parse error", {}),
    ],
)
def test_each_exception_answers_in_the_error_shape(rf, exc, status, code, message, fields):
    response = api_exception_handler(exc, {"view": None, "request": rf.get("/")})
    assert response.status_code == status
    assert response.data == {"error": {"code": code, "message": message, "fields": fields}}
