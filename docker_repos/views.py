import re

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views import View
from django.views.generic import TemplateView
from django.views.generic.base import ContextMixin, TemplateResponseMixin

from hub.audit import events_of
from hub.aws import AwsError
from hub.choices import Status
from hub.exceptions import Conflict, HubError
from hub.forms import apply_service_errors
from projects.selectors import project_members
from projects.views import ProjectViewMixin

from . import selectors, services
from .access import access_retry, access_set
from .forms import RepoDeleteForm, RepoRequestForm
from .models import DockerRepo, RepoAccess, RobotAccount
from .permissions import visible_key_id
from .robots import robot_retry, robot_reveal_credentials, robot_rotate
from .snippets import robot_snippets


class ProjectReposView(ProjectViewMixin, TemplateView):
    """The ALL DOCKER REPOS tab."""

    template_name = "docker_repos/project_repos.html"
    tab = "repos"

    paginate_by = 50

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        search = self.request.GET.get("q", "").strip()
        repos = selectors.project_repos(self.project)
        if search:
            repos = repos.filter(name__icontains=search)
        # A page at a time, so the page costs the same with 10 or 10,000 repositories.
        page = Paginator(repos, self.paginate_by).get_page(self.request.GET.get("page"))
        query = {k: v for k, v in (("q", search), ("page", page.number)) if v and v != 1}
        context.update(repos=page.object_list, page=page, search=search,
                       query=urlencode(query), polling=selectors.any_in_flight(page.object_list),
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

    @cached_property
    def repo(self) -> DockerRepo:
        """Looked up on first use, so after the project's permission checks (a member who
        may not act gets 403 before a missing repository's 404). No `get` override here: a
        POST-only view answers GET with 405, not a crash."""
        return self.get_repo()

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


class RepoDetailView(RepoMixin, TemplateView):
    template_name = "docker_repos/repo_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        repo = self.repo
        context["polling"] = selectors.any_in_flight([repo])
        context.update(_access_context(repo, self.access))
        context["events"] = events_of(repo)[:20]
        token = self.request.GET.get("images") or None
        try:
            images, next_token = services.repo_images(repo, page_token=token)
        except Conflict:
            pass  # not active: no images to list yet (the status says why)
        except AwsError as exc:
            context["images_error"] = exc.reason
        else:
            context.update(images=images, images_next=next_token, images_paged=bool(token))
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
        return redirect(_next_or(request, reverse("docker_repos:project-repos",
                                                  args=[self.project.shortname])))


def _next_or(request, default: str) -> str:
    """The form's `next` (the page to go back to) when it is a path of this site, else
    `default`. Only a path: redirect() takes any other string for a URL pattern's name, and
    one it cannot reverse (next=web) was a server error."""
    target = request.POST.get("next", "")
    if target.startswith("/") and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return default


# --- Access: robots and people ------------------------------------------------------------

ROBOT_NAMES_SPLIT = re.compile(r"[\s,]+")  # "add robot accounts": one or more names


def _access_context(repo: DockerRepo, viewer) -> dict:
    """The access list as `viewer` (their ProjectAccess) may see it."""
    robot_rows, accesses = selectors.repo_access_state(repo)
    for robot in robot_rows:
        robot.visible_key_id = visible_key_id(viewer, robot)  # type: ignore[attr-defined]
    return {"robots": robot_rows, "accesses": accesses,
            "access_polling": selectors.access_in_flight(robot_rows, accesses)}


class RepoAccessFragmentView(RepoMixin, TemplateView):
    """The repository's robots and people with their status, re-fetched every 2 s while
    anything is in flight."""

    template_name = "docker_repos/partials/repo_access.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(_access_context(self.repo, self.access))
        return context


class RepoAccessView(RepoMixin, TemplateView):
    """MANAGE ACCESS: the repository's robot accounts, and which members may pull and
    push. Save applies the whole form as the desired state."""

    template_name = "docker_repos/repo_access.html"
    require_repo_manager = True

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        robots, accesses = selectors.repo_access_state(self.repo)
        by_user = {access.user_id: access for access in accesses}
        submitted = kwargs.get("submitted")
        rows = []
        for membership in project_members(self.project):
            access = by_user.get(membership.user_id)
            granted = access is not None and not access.removal_requested
            username = membership.user.username
            if submitted is not None:
                pull = username in submitted["pull"] or username in submitted["push"]
                push = username in submitted["push"]
            else:
                pull, push = granted, granted and access.writable
            rows.append({"membership": membership, "access": access, "pull": pull,
                         "push": push})
        context.update(robots=robots, rows=rows, is_active=self.repo.status == Status.ACTIVE,
                       removed_robots=(submitted or {}).get("remove_robot", set()),
                       new_robots=(submitted or {}).get("new_robots", ""))
        return context

    def post(self, request, *args, **kwargs):
        self.repo = self.get_repo()
        submitted = {
            "pull": set(request.POST.getlist("pull")),
            "push": set(request.POST.getlist("push")),
            "remove_robot": set(request.POST.getlist("remove_robot")),
            "new_robots": request.POST.get("new_robots", ""),
        }
        current = RobotAccount.objects.filter(repo=self.repo, removal_requested=False)
        robots = [{"name": name} for name in current.values_list("name", flat=True)
                  if name not in submitted["remove_robot"]]
        robots += [{"name": name} for name in ROBOT_NAMES_SPLIT.split(submitted["new_robots"])
                   if name]
        users = [{"username": username, "writable": username in submitted["push"]}
                 for username in sorted(submitted["pull"] | submitted["push"])]
        try:
            access_set(actor=request.user, repo=self.repo, robots=robots, users=users)
        except HubError as exc:
            context = self.get_context_data(submitted=submitted, error=exc)
            return self.render_to_response(context, status=exc.status_code)
        messages.success(request, f"Access to {self.repo.full_name} saved: the changes become "
                                  "Active in a few seconds.")
        return redirect("docker_repos:detail", shortname=self.project.shortname,
                        repo_id=self.repo.pk)


class RobotMixin(RepoMixin):
    """A robot account of the repository; its credentials are for repo managers only."""

    require_repo_manager = True

    def get_robot(self) -> RobotAccount:
        robot = (RobotAccount.objects.select_related("repo__project")
                 .filter(repo=self.repo, pk=self.kwargs["robot_id"]).first())
        if robot is None:
            raise Http404("No such robot account.")
        return robot

    def load(self) -> None:
        self.repo = self.get_repo()
        self.robot = self.get_robot()

    def back(self):
        return redirect("docker_repos:robot", shortname=self.project.shortname,
                        repo_id=self.repo.pk, robot_id=self.robot.pk)


class RobotPageMixin(RobotMixin, TemplateResponseMixin, ContextMixin):
    template_name = "docker_repos/robot_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        self.robot.visible_key_id = visible_key_id(self.access, self.robot)
        context["robot"] = self.robot
        if self.repo.uri:
            context["snippets"] = robot_snippets(registry=self.repo.registry,
                                                 path=self.repo.full_name,
                                                 region=self.repo.region,
                                                 robot_name=self.robot.name)
        return context


class RobotDetailView(RobotPageMixin, View):
    """A robot's credentials (the secret behind Reveal), Rotate, and CI snippets."""

    def get(self, request, *args, **kwargs):
        self.load()
        return self.render_to_response(self.get_context_data())


class RobotRevealView(RobotPageMixin, View):
    """POST: the robot page with the secret, in this response only (audited, not cached)."""

    def post(self, request, *args, **kwargs):
        self.load()
        try:
            key_id, secret = robot_reveal_credentials(actor=request.user, robot=self.robot)
        except HubError as exc:
            messages.error(request, exc.message)
            return self.back()
        response = self.render_to_response(self.get_context_data(revealed_key_id=key_id,
                                                                 revealed_secret=secret))
        response["Cache-Control"] = "no-store"
        return response


class RobotRotateView(RobotMixin, View):
    def post(self, request, *args, **kwargs):
        self.load()
        try:
            robot_rotate(actor=request.user, robot=self.robot)
        except HubError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"Rotating the access key of {self.robot.name}: the new "
                                      "key replaces the old one in a few seconds.")
        return self.back()


def _back_to_repo(request, view) -> str:
    return _next_or(request, reverse("docker_repos:detail",
                                     args=[view.project.shortname, view.repo.pk]))


class RobotRetryView(RobotMixin, View):
    def post(self, request, *args, **kwargs):
        self.load()
        try:
            robot_retry(actor=request.user, robot=self.robot)
        except HubError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"Retrying robot account {self.robot.name}.")
        return redirect(_back_to_repo(request, self))


class AccessRetryView(RepoMixin, View):
    require_repo_manager = True

    def post(self, request, *args, **kwargs):
        self.repo = self.get_repo()
        access = (RepoAccess.objects.select_related("repo__project", "user")
                  .filter(repo=self.repo, pk=kwargs["access_id"]).first())
        if access is None:
            raise Http404("No such access entry.")
        try:
            access_retry(actor=request.user, access=access)
        except HubError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"Retrying {access.user.username}'s access.")
        return redirect(_back_to_repo(request, self))
