"""Your ECR identity: the IAM user that lets you pull and push the repositories you were
granted. Each endpoint calls the service the Connected Identities page calls
(identities/services.py: ecr_identity_request / _reveal / _rotate). Only the owner ever
reaches an identity: every path is under /me/."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from hub.api.schema import responses
from hub.api.views import no_body

from .. import selectors, services
from . import serializers as s

TAGS = ["identities"]


def identity_data(identity) -> dict:
    registry = selectors.ecr_registry(identity)
    return s.EcrIdentitySerializer(
        {
            "status": identity.status,
            "status_detail": identity.status_detail,
            "iam_username": identity.iam_username,
            "access_key_id": identity.access_key_id,
            "region": registry.region,
            "registry": registry.host,
        }
    ).data


def my_identity(user):
    identity = selectors.ecr_identity_of(user)
    if identity is None:
        raise NotFound("You have no ECR identity yet: POST to create it.")
    return identity


class EcrIdentityView(APIView):
    @extend_schema(
        tags=TAGS,
        summary="Your ECR identity",
        responses=responses(
            {200: s.EcrIdentitySerializer}, 404, e404="You have no ECR identity yet."
        ),
    )
    def get(self, request):
        return Response(identity_data(my_identity(request.user)))

    @extend_schema(
        tags=TAGS,
        summary="Create your ECR identity if you have none",
        request=None,
        responses=responses({202: s.EcrIdentitySerializer}),
    )
    def post(self, request):
        no_body(request)
        services.ecr_identity_request(user=request.user)
        return Response(identity_data(my_identity(request.user)), status=status.HTTP_202_ACCEPTED)


class EcrIdentityCredentialsView(APIView):
    @extend_schema(
        tags=TAGS,
        summary="Your ECR access key and secret (audited)",
        responses=responses(
            {200: s.EcrCredentialsSerializer}, 404, 409, e409="Your identity is not active."
        ),
    )
    def get(self, request):
        key_id, secret = services.ecr_identity_reveal(user=request.user)
        registry = selectors.ecr_registry(my_identity(request.user))
        response = Response(
            s.EcrCredentialsSerializer(
                {
                    "access_key_id": key_id,
                    "secret_access_key": secret,
                    "region": registry.region,
                    "registry": registry.host,
                }
            ).data
        )
        response["Cache-Control"] = "no-store"
        return response


class EcrIdentityRotateView(APIView):
    @extend_schema(
        tags=TAGS,
        summary="Replace your access key with a new one",
        request=None,
        responses=responses(
            {202: s.EcrIdentitySerializer}, 404, 409, e409="Your identity is not active."
        ),
    )
    def post(self, request):
        no_body(request)
        services.ecr_identity_rotate(user=request.user)
        return Response(identity_data(my_identity(request.user)), status=status.HTTP_202_ACCEPTED)
