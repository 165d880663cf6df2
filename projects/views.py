from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.datastructures import MultiValueDict
from django.utils.http import urlencode
from django.views import View
from django.views.generic import TemplateView

from hub import oneshot
from hub.exceptions import HubError
from hub.forms import apply_service_errors

from . import selectors, services
from .forms import (
    MemberAddForm,
    MemberRoleForm,
    ProjectCreateForm,
    ProjectSettingsForm,
    ServiceForm,
)
from .models import Service
from .permissions import REPO_MANAGERS_ONLY, is_hub_admin

User = get_user_model()


class ProjectViewMixin:
    """Loads the project named in the URL and what the user may do in it.

    A project you cannot see answers 404, as if it did not exist; an action you may not
    take in a project you can see answers 403."""

    require_admin = False
    require_repo_manager = False
    tab = ""
    kwargs: dict[str, Any]  # set by View.setup (the URL's arguments)

    def dispatch(self, request, *args, **kwargs):
        self.project, self.access = selectors.project_and_access(kwargs["shortname"], request.user)
        if self.project is None or not self.access.can_view:
            raise Http404("No such project.")
        if self.require_admin and not self.access.is_admin:
            raise PermissionDenied("Only project admins can do this.")
        if self.require_repo_manager and not self.access.is_repo_manager:
            raise PermissionDenied(REPO_MANAGERS_ONLY)
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(project=self.project, access=self.access, tab=self.tab)
        return context


class ProjectListView(TemplateView):
    template_name = "projects/project_list.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["projects"] = selectors.projects_for_user(self.request.user)
        context["can_create"] = is_hub_admin(self.request.user)
        return context


class ProjectCreateView(TemplateView):
    template_name = "projects/project_create.html"

    def dispatch(self, request, *args, **kwargs):
        if not is_hub_admin(request.user):
            raise PermissionDenied("Only hub admins can create projects.")
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("form", ProjectCreateForm())
        return context

    def post(self, request, *args, **kwargs):
        form = ProjectCreateForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                project = services.project_create(
                    actor=request.user,
                    shortname=data["shortname"],
                    name=data["name"],
                    description=data["description"],
                    repo_management=data["repo_management"],
                    admin=data["admin"],
                )
            except HubError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, f"Project {project.shortname} created.")
                return redirect("projects:detail", shortname=project.shortname)
        return self.render_to_response(self.get_context_data(form=form), status=400)


class ProjectDetailView(ProjectViewMixin, TemplateView):
    """The OVERVIEW & PEOPLE tab."""

    template_name = "projects/project_detail.html"
    tab = "overview"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["memberships"] = selectors.project_members(self.project)
        context["role_choices"] = MemberRoleForm.base_fields["role"].choices
        if self.access.is_admin:
            for name in OVERVIEW_FORMS:
                if refused := take_refused_form(self.request, self.project, name):
                    context[name] = refused
            context.setdefault("member_form", MemberAddForm())
            context.setdefault(
                "settings_form",
                ProjectSettingsForm(
                    initial={
                        "name": self.project.name,
                        "description": self.project.description,
                        "repo_management": self.project.repo_management,
                    }
                ),
            )
        return context


class ProjectActionView(ProjectViewMixin, View):
    """Base for POST-only admin actions on the overview page: on bad input the overview is
    shown again with the form and its errors."""

    require_admin = True
    form_class: type[forms.Form]
    context_name = ""

    def post(self, request, *args, **kwargs):
        form = self.form_class(request.POST)
        if form.is_valid():
            try:
                message = self.perform(form.cleaned_data)
            except HubError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, message)
                return redirect(self.success_url())
        return self.invalid(form)

    def success_url(self) -> str:
        return reverse("projects:detail", kwargs={"shortname": self.project.shortname})

    def invalid(self, form):
        """Post/redirect/get for a refused form too: the overview shows it again with its
        errors at the overview's own address, so a reload posts nothing and the result
        never lives at this POST-only address."""
        summary = " ".join(form.non_field_errors()) or "Please correct the errors below."
        messages.error(self.request, summary)
        stash_refused_form(self.request, self.project, self.context_name, form)
        return redirect(self.success_url())


# The overview's forms that a refused POST shows again (ProjectActionView.invalid).
OVERVIEW_FORMS = {"settings_form": ProjectSettingsForm, "member_form": MemberAddForm}


def _refused_form_kind(project, context_name: str) -> str:
    return f"refused-form-{project.pk}-{context_name}"


def stash_refused_form(request, project, context_name: str, form) -> None:
    data = {key: form.data.getlist(key) for key in form.data if key != "csrfmiddlewaretoken"}
    oneshot.stash(
        request,
        _refused_form_kind(project, context_name),
        {"data": data, "errors": form.errors.get_json_data()},
    )


def take_refused_form(request, project, context_name: str):
    """The refused form, bound to what was typed and with the same errors, once."""
    stashed = oneshot.take(request, _refused_form_kind(project, context_name))
    if stashed is None:
        return None
    form = OVERVIEW_FORMS[context_name](MultiValueDict(stashed["data"]))
    form.is_valid()  # the form's own errors again; the service's are added below
    for field, errors in stashed["errors"].items():
        name = None if field == NON_FIELD_ERRORS else field
        for error in errors:
            if error["message"] not in form.errors.get(field, []):
                form.add_error(name, error["message"])
    return form


class ProjectSettingsView(ProjectActionView):
    form_class = ProjectSettingsForm
    context_name = "settings_form"

    def perform(self, data):
        services.project_update(actor=self.request.user, project=self.project, **data)
        return "Project settings saved."


class MemberAddView(ProjectActionView):
    form_class = MemberAddForm
    context_name = "member_form"

    def perform(self, data):
        membership = services.membership_add(
            actor=self.request.user, project=self.project, user=data["user"], role=data["role"]
        )
        return f"{membership.user.username} added as {membership.get_role_display().lower()}."


class MemberRoleView(ProjectActionView):
    form_class = MemberRoleForm
    context_name = "role_form"

    def perform(self, data):
        user = get_object_or_404(User, username=self.kwargs["username"])
        services.membership_change_role(
            actor=self.request.user, project=self.project, user=user, role=data["role"]
        )
        return f"{user.username} is now {data['role']}."

    def invalid(self, form):
        messages.error(self.request, " ".join(e for errs in form.errors.values() for e in errs))
        return redirect(self.success_url())


class MemberRemoveView(ProjectViewMixin, View):
    require_admin = True

    def post(self, request, *args, **kwargs):
        user = get_object_or_404(User, username=kwargs["username"])
        try:
            services.membership_remove(actor=request.user, project=self.project, user=user)
        except HubError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"{user.username} removed from {self.project.shortname}.")
        return redirect("projects:detail", shortname=self.project.shortname)


class ServiceListView(ProjectViewMixin, TemplateView):
    """The SERVICES tab; project admins create services here."""

    template_name = "projects/service_list.html"
    tab = "services"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["services"] = selectors.project_services_with_repo_counts(self.project)
        if self.access.is_admin:
            context.setdefault("form", ServiceForm())
        return context

    def post(self, request, *args, **kwargs):
        if not self.access.is_admin:
            raise PermissionDenied("Only project admins can create services.")
        form = ServiceForm(request.POST)
        if form.is_valid():
            try:
                service = services.service_create(
                    actor=request.user, project=self.project, **form.cleaned_data
                )
            except HubError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, f"Service {service.name} created.")
                return redirect("projects:services", shortname=self.project.shortname)
        return self.render_to_response(self.get_context_data(form=form), status=400)


class ServiceMixin(ProjectViewMixin):
    require_admin = True
    tab = "services"

    def get_service(self) -> Service:
        return get_object_or_404(Service, project=self.project, pk=self.kwargs["service_id"])


class ServiceEditView(ServiceMixin, TemplateView):
    template_name = "projects/service_edit.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["service"] = self.service
        context.setdefault("form", ServiceForm(instance=self.service))
        return context

    def get(self, request, *args, **kwargs):
        self.service = self.get_service()
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        self.service = self.get_service()
        form = ServiceForm(request.POST)
        if form.is_valid():
            try:
                services.service_update(
                    actor=request.user, service=self.service, **form.cleaned_data
                )
            except HubError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, f"Service {self.service.name} saved.")
                return redirect("projects:services", shortname=self.project.shortname)
        self.service.refresh_from_db()
        return self.render_to_response(self.get_context_data(form=form), status=400)


class ServiceDeleteView(ServiceMixin, TemplateView):
    template_name = "projects/service_delete.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["service"] = self.service
        context["repo_count"] = self.service.docker_repos.count()  # Delete is refused then
        return context

    def get(self, request, *args, **kwargs):
        self.service = self.get_service()
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        self.service = self.get_service()
        try:
            services.service_delete(actor=request.user, service=self.service)
        except HubError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"Service {self.service.name} deleted.")
        return redirect("projects:services", shortname=self.project.shortname)


class ProjectActivityView(ProjectViewMixin, TemplateView):
    """The project's audit events in sentences, newest first, for project admins;
    filtered by person, kind of object and kind of change."""

    template_name = "projects/project_activity.html"
    require_admin = True
    tab = "activity"
    paginate_by = 50

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        choices = selectors.activity_filter_choices(self.project)
        # Only values the filter offers count (a stale or made-up one shows everything).
        chosen = {
            name: value if value in {v for v, _ in choices[name]} else ""
            for name in choices
            for value in [self.request.GET.get(name, "")]
        }
        events = selectors.project_activity(
            self.project, person=chosen["person"], object_type=chosen["object"], kind=chosen["kind"]
        )
        page = Paginator(events, self.paginate_by).get_page(self.request.GET.get("page"))
        context.update(
            page=page,
            events=page.object_list,
            choices=choices,
            chosen=chosen,
            filter_query=urlencode({k: v for k, v in chosen.items() if v}),
        )
        return context
