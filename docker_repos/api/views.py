"""Repositories and their images. Each endpoint calls the service the browser's view calls
(docker_repos/services.py); who may do what is projects/permissions.py's rule."""

from django.urls import reverse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from hub.api.schema import responses
from hub.api.views import no_body, require
from hub.aws import AwsPermanentError
from hub.exceptions import InvalidInput
from projects.api.views import ProjectScopedView
from projects.permissions import REPO_MANAGERS_ONLY, ProjectAccess, project_access

from .. import selectors, services
from ..access import access_set
from ..filters import RepoFilter
from ..models import DockerRepo, RobotAccount
from ..permissions import visible_key_id
from ..robots import robot_reveal_credentials, robot_rotate
from . import serializers as s

NO_REPO = "No such repository."
TAGS = ["docker-repos"]


class ProjectReposView(ProjectScopedView):
    serializer_class = s.RepoSerializer
    # The page's search filters with the same FilterSet (docker_repos/views.py).
    filter_backends = [DjangoFilterBackend]
    filterset_class = RepoFilter
    queryset = DockerRepo.objects.none()  # the model, for the schema's filter parameters

    @extend_schema(
        tags=TAGS,
        summary="A project's repositories (members)",
        responses=responses(
            {200: s.RepoSerializer(many=True)},
            400,
            404,
            e400="A filter's value is invalid (named in `fields`).",
        ),
    )
    def get(self, request, shortname):
        self.load()
        repos = self.filter_queryset(selectors.project_repos(self.project))
        rows = repos.values(*s.REPO_LIST_COLUMNS)
        page = self.paginate_queryset(rows)
        return self.get_paginated_response([s.repo_list_row(row) for row in page])

    @extend_schema(
        tags=TAGS,
        summary="Request a repository (repo managers)",
        description="Answers at once with `status: pending`; the repository "
        "becomes `active` (or `failed`, with `status_detail`) when "
        "ECR has it.",
        request=s.RepoCreateSerializer,
        responses=responses(
            {201: s.RepoSerializer},
            400,
            403,
            404,
            409,
            e409="The project has a repository of that name.",
        ),
    )
    def post(self, request, shortname):
        self.load("is_repo_manager", REPO_MANAGERS_ONLY)
        serializer = s.RepoCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        repo = services.repo_request(
            actor=request.user, project=self.project, **serializer.validated_data
        )
        return Response(s.RepoSerializer(repo).data, status=status.HTTP_201_CREATED)


class RepoScopedView(GenericAPIView):
    # An endpoint under /docker-repos/{repo_id}/: `self.load(capability)` finds the
    # repository and applies its project's rule (404 unless you can see the project).

    repo: DockerRepo
    access: ProjectAccess

    def load(self, capability: str | None = None) -> DockerRepo:
        repo = (
            DockerRepo.objects.select_related("project", "service")
            .filter(pk=self.kwargs["repo_id"])
            .first()
        )
        if repo is None:
            raise NotFound(NO_REPO)
        self.repo, self.access = repo, project_access(self.request.user, repo.project)
        require(self.access, capability, message=REPO_MANAGERS_ONLY, not_found=NO_REPO)
        return repo

    def reread(self) -> DockerRepo:
        return DockerRepo.objects.select_related("project", "service").get(pk=self.repo.pk)


class RepoDetailView(RepoScopedView):
    serializer_class = s.RepoSerializer

    @extend_schema(
        tags=TAGS,
        summary="A repository (members)",
        responses=responses({200: s.RepoSerializer}, 404),
    )
    def get(self, request, repo_id):
        return Response(s.RepoSerializer(self.load()).data)

    @extend_schema(
        tags=TAGS,
        summary="Delete a repository and all its images (repo managers)",
        description="Answers 202 with `status: deleting`; once ECR has deleted "
        "the repository, it answers 404.",
        responses=responses(
            {202: s.RepoSerializer}, 403, 404, 409, e409="The repository is still being created."
        ),
    )
    def delete(self, request, repo_id):
        self.load("is_repo_manager")
        no_body(request)
        services.repo_delete(actor=request.user, repo=self.repo)
        return Response(s.RepoSerializer(self.reread()).data, status=status.HTTP_202_ACCEPTED)


class RepoRetryView(RepoScopedView):
    serializer_class = s.RepoSerializer

    @extend_schema(
        tags=TAGS,
        summary="Retry a failed repository (repo managers)",
        description="Resumes what failed: the creation (`pending`) or the deletion (`deleting`).",
        request=None,
        responses=responses(
            {202: s.RepoSerializer}, 403, 404, 409, e409="The repository is not failed."
        ),
    )
    def post(self, request, repo_id):
        self.load("is_repo_manager")
        no_body(request)
        services.repo_retry(actor=request.user, repo=self.repo)
        return Response(s.RepoSerializer(self.reread()).data, status=status.HTTP_202_ACCEPTED)


class RepoImagesView(RepoScopedView):
    serializer_class = s.ImageSerializer
    pagination_class = None  # ECR pages the list itself (ImagePageSerializer)
    max_page_size = 100

    def _page_size(self) -> int:
        raw = self.request.query_params.get("page_size")
        if raw is None:
            return 20
        if not raw.isdigit() or not 1 <= int(raw) <= self.max_page_size:
            message = f"A whole number from 1 to {self.max_page_size}."
            raise InvalidInput(message, fields={"page_size": [message]})
        return int(raw)

    @extend_schema(
        tags=TAGS,
        summary="A repository's images, read live from ECR (members)",
        parameters=[
            OpenApiParameter("page_token", OpenApiTypes.STR, description="From `next`."),
            OpenApiParameter(
                "page_size", OpenApiTypes.INT, description="1 to 100; 20 if not given."
            ),
        ],
        responses=responses(
            {200: s.ImagePageSerializer},
            400,
            404,
            409,
            502,
            503,
            e409="The repository is not active.",
        ),
    )
    def get(self, request, repo_id):
        repo = self.load()
        page_size = self._page_size()
        token = request.query_params.get("page_token") or None
        try:
            images, next_token = services.repo_images(repo, page_token=token, page_size=page_size)
        except AwsPermanentError as exc:
            if token and exc.code in ("InvalidParameterException", "ValidationException"):
                message = "Not a page token of this list: use the `next` link."
                raise InvalidInput(message, fields={"page_token": [message]}) from None
            raise
        url = request.build_absolute_uri(reverse("api:repo-images", args=[repo.pk]))
        next_url = None
        if next_token:
            next_url = replace_query_param(
                replace_query_param(url, "page_size", page_size), "page_token", next_token
            )
        results = [
            {
                "digest": i.digest,
                "tags": i.tags,
                "pushed_at": i.pushed_at,
                "size_bytes": i.size_bytes,
            }
            for i in images
        ]
        return Response(
            s.ImagePageSerializer(
                {"count": None, "next": next_url, "previous": None, "results": results}
            ).data
        )


# --- Access -----------------------------------------------------------------------------

ACCESS_TAGS = ["access"]


def robot_data(robot, *, viewer: ProjectAccess) -> dict:
    return {
        "id": robot.pk,
        "name": robot.name,
        "iam_username": robot.iam_username,
        "status": robot.status,
        "status_detail": robot.status_detail,
        "access_key_id": visible_key_id(viewer, robot),
    }


def access_data(repo: DockerRepo, *, viewer: ProjectAccess) -> dict:
    robots, accesses = selectors.repo_access_state(repo)
    return s.AccessSerializer(
        {
            "robots": [robot_data(robot, viewer=viewer) for robot in robots],
            "users": [
                {
                    "username": access.user.username,
                    "writable": access.writable,
                    "status": access.status,
                    "status_detail": access.status_detail,
                }
                for access in accesses
            ],
        }
    ).data


class RepoAccessView(RepoScopedView):
    serializer_class = s.AccessSerializer

    @extend_schema(
        tags=ACCESS_TAGS,
        summary="Who may pull or push the repository (members)",
        description="Robots' `access_key_id` is shown to repo managers only.",
        responses=responses({200: s.AccessSerializer}, 404),
    )
    def get(self, request, repo_id):
        repo = self.load()
        return Response(access_data(repo, viewer=self.access))

    @extend_schema(
        tags=ACCESS_TAGS,
        summary="Set the whole access of the repository (repo managers)",
        description="The body is the **whole desired state**: new entries become `pending`, "
        "missing ones `removing`, changed ones `pending` again. A person granted "
        "access gets an ECR identity automatically.",
        request=s.AccessSetSerializer,
        responses=responses(
            {202: s.AccessSerializer},
            400,
            403,
            404,
            409,
            e400="Invalid input: a user who is not a project member, or an invalid robot name.",
            e409="The repository is not active.",
        ),
    )
    def put(self, request, repo_id):
        repo = self.load("is_repo_manager")
        serializer = s.AccessSetSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        access_set(
            actor=request.user,
            repo=repo,
            robots=[dict(entry) for entry in data["robots"]],
            users=[dict(entry) for entry in data["users"]],
        )
        return Response(
            access_data(self.reread(), viewer=self.access), status=status.HTTP_202_ACCEPTED
        )


class RobotScopedView(RepoScopedView):
    # /docker-repos/{repo_id}/robots/{robot_id}/...: repo managers only; a robot of
    # another repository is not found.

    def load_robot(self):
        repo = self.load("is_repo_manager")
        robot = RobotAccount.objects.filter(repo=repo, pk=self.kwargs["robot_id"]).first()
        if robot is None:
            raise NotFound("No such robot of this repository.")
        return robot


class RobotCredentialsView(RobotScopedView):
    serializer_class = s.RobotCredentialsSerializer

    @extend_schema(
        tags=ACCESS_TAGS,
        summary="A robot's access key and secret (repo managers; audited)",
        responses=responses(
            {200: s.RobotCredentialsSerializer},
            403,
            404,
            409,
            e409="The robot or the repository is not active.",
        ),
    )
    def get(self, request, repo_id, robot_id):
        key_id, secret = robot_reveal_credentials(actor=request.user, robot=self.load_robot())
        response = Response(
            s.RobotCredentialsSerializer(
                {"access_key_id": key_id, "secret_access_key": secret}
            ).data
        )
        response["Cache-Control"] = "no-store"
        return response


class RobotRotateView(RobotScopedView):
    serializer_class = s.RobotSerializer

    @extend_schema(
        tags=ACCESS_TAGS,
        summary="Replace a robot's access key (repo managers)",
        description="A new key replaces the old one; the robot is `pending` "
        "until the new key is in place.",
        request=None,
        responses=responses(
            {202: s.RobotSerializer},
            403,
            404,
            409,
            e409="The robot or the repository is not active.",
        ),
    )
    def post(self, request, repo_id, robot_id):
        robot = self.load_robot()
        no_body(request)
        robot_rotate(actor=request.user, robot=robot)
        robot = RobotAccount.objects.get(pk=robot.pk)
        return Response(
            s.RobotSerializer(robot_data(robot, viewer=self.access)).data,
            status=status.HTTP_202_ACCEPTED,
        )
