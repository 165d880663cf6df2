"""Projects, members and services. Each endpoint calls the service the browser's view
calls (projects/services.py) and asks projects/permissions.py who may do what."""

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from hub.api.schema import responses
from hub.api.views import no_body, require
from hub.exceptions import HubError, NotAllowed

from .. import selectors, services
from ..filters import ProjectFilter
from ..models import Project
from ..permissions import ProjectAccess, is_hub_admin
from . import serializers as s

ADMIN_ONLY = "Only project admins can do this."
NO_PROJECT = "No such project."


class ProjectScopedView(GenericAPIView):
    # An endpoint under /projects/{shortname}/: `self.load(capability)` finds the project
    # and applies the project's rule: 404 unless you can see it, 403 unless you have
    # `capability` (`is_admin`, `is_repo_manager`).

    project: Project
    access: ProjectAccess

    def load(self, capability: str | None = None, message: str = "") -> Project:
        project, access = selectors.project_and_access(self.kwargs["shortname"], self.request.user)
        if project is None or access is None:
            raise NotFound(NO_PROJECT)
        self.project, self.access = project, access
        require(self.access, capability, message=message or ADMIN_ONLY, not_found=NO_PROJECT)
        return project


def rename_field(error: HubError, old: str, new: str) -> HubError:
    """A service's error about `old` is about request field `new` here."""
    if old in error.fields:
        error.fields[new] = error.fields.pop(old)
    return error


# --- Me -------------------------------------------------------------------------------


class MeView(APIView):
    @extend_schema(tags=["me"], summary="Who you are", responses=responses({200: s.MeSerializer}))
    def get(self, request):
        return Response(s.MeSerializer(request.user).data)


# --- Projects -------------------------------------------------------------------------


class ProjectListView(GenericAPIView):
    serializer_class = s.ProjectSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = ProjectFilter
    queryset = Project.objects.none()  # the model, for the schema's filter parameters

    @extend_schema(
        tags=["projects"],
        summary="Projects you belong to (all, for hub admins)",
        responses=responses(
            {200: s.ProjectSerializer(many=True)},
            400,
            404,
            e400="A filter's value is invalid (named in `fields`).",
        ),
    )
    def get(self, request):
        projects = self.filter_queryset(
            selectors.projects_for_user(request.user).order_by("shortname")
        )
        page = self.paginate_queryset(projects)
        return self.get_paginated_response(s.ProjectSerializer(page, many=True).data)

    @extend_schema(
        tags=["projects"],
        summary="Create a project (hub admins)",
        request=s.ProjectCreateSerializer,
        responses=responses(
            {201: s.ProjectSerializer}, 400, 403, 409, e409="A project with this shortname exists."
        ),
    )
    def post(self, request):
        if not is_hub_admin(request.user):
            raise NotAllowed("Only hub admins can create projects.")
        serializer = s.ProjectCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        project = services.project_create(actor=request.user, **serializer.validated_data)
        project = selectors.projects_for_user(request.user).get(pk=project.pk)
        return Response(s.ProjectSerializer(project).data, status=status.HTTP_201_CREATED)


class ProjectDetailView(ProjectScopedView):
    serializer_class = s.ProjectSerializer

    def _read(self):
        return selectors.projects_for_user(self.request.user).get(pk=self.project.pk)

    @extend_schema(
        tags=["projects"],
        summary="A project (members)",
        responses=responses({200: s.ProjectSerializer}, 404),
    )
    def get(self, request, shortname):
        self.load()
        return Response(s.ProjectSerializer(self._read()).data)

    @extend_schema(
        tags=["projects"],
        summary="Change a project's settings (project admins)",
        request=s.ProjectUpdateSerializer,
        responses=responses({200: s.ProjectSerializer}, 400, 403, 404),
    )
    def patch(self, request, shortname):
        self.load("is_admin")
        serializer = s.ProjectUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.project_update(
            actor=request.user, project=self.project, **serializer.validated_data
        )
        return Response(s.ProjectSerializer(self._read()).data)


# --- Members --------------------------------------------------------------------------


class MemberListView(ProjectScopedView):
    serializer_class = s.MemberSerializer

    @extend_schema(
        tags=["members"],
        summary="A project's members (members)",
        responses=responses({200: s.MemberSerializer(many=True)}, 404),
    )
    def get(self, request, shortname):
        self.load()
        page = self.paginate_queryset(selectors.project_members(self.project))
        return self.get_paginated_response(s.MemberSerializer(page, many=True).data)

    @extend_schema(
        tags=["members"],
        summary="Add a member (project admins)",
        request=s.MemberAddSerializer,
        responses=responses(
            {201: s.MemberSerializer},
            400,
            403,
            404,
            409,
            e400="Invalid input, or no such active user.",
            e409="The person is already a member.",
        ),
    )
    def post(self, request, shortname):
        self.load("is_admin")
        serializer = s.MemberAddSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            membership = services.membership_add(
                actor=request.user, project=self.project, user=data["username"], role=data["role"]
            )
        except HubError as exc:
            raise rename_field(exc, "user", "username") from None
        return Response(s.MemberSerializer(membership).data, status=status.HTTP_201_CREATED)


class MemberDetailView(ProjectScopedView):
    # /members/{username}/: 404 unless that person is a member of the project.

    serializer_class = s.MemberSerializer

    def load_member(self, capability: str | None = None):
        self.load(capability)
        membership = (
            selectors.project_members(self.project)
            .filter(user__username=self.kwargs["username"])
            .first()
        )
        if membership is None:
            raise NotFound("No such member of this project.")
        return membership

    @extend_schema(
        tags=["members"],
        summary="One member (members; extension)",
        responses=responses({200: s.MemberSerializer}, 404),
    )
    def get(self, request, shortname, username):
        return Response(s.MemberSerializer(self.load_member()).data)

    @extend_schema(
        tags=["members"],
        summary="Change a member's role (project admins)",
        request=s.MemberRoleSerializer,
        responses=responses(
            {200: s.MemberSerializer},
            400,
            403,
            404,
            409,
            e409="The last project admin cannot step down.",
        ),
    )
    def patch(self, request, shortname, username):
        membership = self.load_member("is_admin")
        serializer = s.MemberRoleSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership = services.membership_change_role(
            actor=request.user,
            project=self.project,
            user=membership.user,
            role=serializer.validated_data["role"],
        )
        return Response(s.MemberSerializer(membership).data)

    @extend_schema(
        tags=["members"],
        summary="Remove a member (project admins); their access to every "
        "repository of the project is removed",
        responses=responses(
            {204: OpenApiResponse(description="Removed.")},
            403,
            404,
            409,
            e409="The last project admin cannot be removed.",
        ),
    )
    def delete(self, request, shortname, username):
        membership = self.load_member("is_admin")
        no_body(request)
        services.membership_remove(actor=request.user, project=self.project, user=membership.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Services -------------------------------------------------------------------------


class ServiceListView(ProjectScopedView):
    serializer_class = s.ServiceSerializer

    @extend_schema(
        tags=["services"],
        summary="A project's services (members)",
        responses=responses({200: s.ServiceSerializer(many=True)}, 404),
    )
    def get(self, request, shortname):
        self.load()
        page = self.paginate_queryset(selectors.project_services(self.project))
        return self.get_paginated_response(s.ServiceSerializer(page, many=True).data)

    @extend_schema(
        tags=["services"],
        summary="Create a service (project admins)",
        request=s.ServiceCreateSerializer,
        responses=responses(
            {201: s.ServiceSerializer},
            400,
            403,
            404,
            409,
            e409="The project already has a service of that name.",
        ),
    )
    def post(self, request, shortname):
        self.load("is_admin")
        serializer = s.ServiceCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        service = services.service_create(
            actor=request.user, project=self.project, **serializer.validated_data
        )
        return Response(s.ServiceSerializer(service).data, status=status.HTTP_201_CREATED)


class ServiceDetailView(ProjectScopedView):
    # Extension of the contract: read, rename or delete one service.

    serializer_class = s.ServiceSerializer

    def load_service(self, capability: str | None = None):
        self.load(capability)
        service = (
            selectors.project_services(self.project).filter(pk=self.kwargs["service_id"]).first()
        )
        if service is None:
            raise NotFound("No such service in this project.")
        return service

    @extend_schema(
        tags=["services"],
        summary="One service (members; extension)",
        responses=responses({200: s.ServiceSerializer}, 404),
    )
    def get(self, request, shortname, service_id):
        return Response(s.ServiceSerializer(self.load_service()).data)

    @extend_schema(
        tags=["services"],
        summary="Change a service (project admins; extension)",
        request=s.ServiceUpdateSerializer,
        responses=responses(
            {200: s.ServiceSerializer},
            400,
            403,
            404,
            409,
            e409="The project already has a service of that name.",
        ),
    )
    def patch(self, request, shortname, service_id):
        service = self.load_service("is_admin")
        serializer = s.ServiceUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        service = services.service_update(
            actor=request.user, service=service, **serializer.validated_data
        )
        return Response(s.ServiceSerializer(service).data)

    @extend_schema(
        tags=["services"],
        summary="Delete a service (project admins; extension); refused while it has repositories",
        responses=responses(
            {204: OpenApiResponse(description="Deleted.")},
            403,
            404,
            409,
            e409="The service still has Docker repositories.",
        ),
    )
    def delete(self, request, shortname, service_id):
        service = self.load_service("is_admin")
        no_body(request)
        services.service_delete(actor=request.user, service=service)
        return Response(status=status.HTTP_204_NO_CONTENT)
