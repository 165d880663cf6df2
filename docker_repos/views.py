from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from django.views.generic import TemplateView

from hub.aws import AwsError
from hub.exceptions import HubError
from hub.forms import apply_service_errors
from hub.models import AuditEvent
from projects.views import ProjectViewMixin

from . import selectors, services
from .forms import RepoDeleteForm, RepoRequestForm
from .models import DockerRepo


class ProjectReposView(ProjectViewMixin, TemplateView):
    """The ALL DOCKER REPOS tab."""

    template_name = "docker_repos/project_repos.html"
    tab = "repos"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        repos = list(selectors.project_repos(self.project))
        context.update(repos=repos, polling=selectors.any_in_flight(repos),
                       has_services=self.project.services.exists())
        return context


class ProjectReposFragmentView(ProjectReposView):
    """The repository list alone, re-fetched every 2 s while anything is in flight."""

    template_name = "docker_repos/partials/repo_list.html"


class RepoRequestView(ProjectViewMixin, TemplateView):
    template_name = "docker_repos/repo_request.html"
    tab = "repos"
    require_repo_manager = True

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("form", RepoRequestForm(project=self.project))
        return context

    def post(self, request, *args, **kwargs):
        form = RepoRequestForm(request.POST, project=self.project)
        if form.is_valid():
            try:
                repo = services.repo_request(actor=request.user, project=self.project,
                                             **form.cleaned_data)
            except HubError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, f"Repository {repo.full_name} requested: it becomes "
                                          "Active in a few seconds.")
                return redirect("docker_repos:project-repos", shortname=self.project.shortname)
        return self.render_to_response(self.get_context_data(form=form), status=400)


class RepoMixin(ProjectViewMixin):
    tab = "repos"

    def dispatch(self, request, *args, **kwargs):
        return super().dispatch(request, *args, **kwargs)

    def get_repo(self) -> DockerRepo:
        repo = (DockerRepo.objects.select_related("project", "service", "requested_by")
                .filter(project=self.project, pk=self.kwargs["repo_id"]).first())
        if repo is None:
            raise Http404("No such repository.")
        return repo

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["repo"] = self.repo
        return context

    def get(self, request, *args, **kwargs):
        self.repo = self.get_repo()
        return super().get(request, *args, **kwargs)


class RepoDetailView(RepoMixin, TemplateView):
    template_name = "docker_repos/repo_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        repo = self.repo
        context["polling"] = selectors.any_in_flight([repo])
        context["events"] = AuditEvent.objects.filter(
            target_type="dockerrepo", target_id=str(repo.pk)).order_by("-at", "-id")[:20]
        if repo.uri:
            context["registry"] = repo.uri.split("/", 1)[0]
            context["region"] = repo.arn.split(":")[3] if repo.arn.count(":") >= 5 else ""
        if repo.status == "active":
            token = self.request.GET.get("images") or None
            try:
                images, next_token = services.repo_images(repo, page_token=token)
            except AwsError as exc:
                context["images_error"] = exc.reason
            else:
                context.update(images=images, images_next=next_token,
                               images_paged=bool(token))
        return context


class RepoStatusFragmentView(RepoMixin, TemplateView):
    template_name = "docker_repos/partials/repo_status.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["polling"] = selectors.any_in_flight([self.repo])
        return context


class RepoDeleteView(RepoMixin, TemplateView):
    template_name = "docker_repos/repo_delete.html"
    require_repo_manager = True

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("form", RepoDeleteForm(repo=self.repo))
        return context

    def post(self, request, *args, **kwargs):
        self.repo = self.get_repo()
        form = RepoDeleteForm(request.POST, repo=self.repo)
        if form.is_valid():
            try:
                services.repo_delete(actor=request.user, repo=self.repo)
            except HubError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, f"Deleting {self.repo.full_name} and all its images.")
                return redirect("docker_repos:project-repos", shortname=self.project.shortname)
        return self.render_to_response(self.get_context_data(form=form), status=400)


class RepoRetryView(RepoMixin, View):
    require_repo_manager = True

    def post(self, request, *args, **kwargs):
        repo = self.get_repo()
        try:
            services.repo_retry(actor=request.user, repo=repo)
        except HubError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"Retrying {repo.full_name}.")
        target = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                               require_https=request.is_secure()):
            target = reverse("docker_repos:project-repos", args=[self.project.shortname])
        return redirect(target)
