from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views import View
from django.views.generic import TemplateView
from django.views.generic.base import ContextMixin, TemplateResponseMixin

from hub import live, oneshot
from hub.audit import events_of
from hub.aws import AwsError
from hub.choices import Status
from hub.exceptions import Conflict, HubError, InvalidInput
from hub.forms import apply_service_errors
from projects.selectors import project_members
from projects.views import ProjectViewMixin

from . import selectors, services
from .access import AccessChangedSinceReview, access_preview, access_retry, access_set
from .filters import RepoFilter
from .forms import RepoDeleteForm, RepoRequestForm, parse_new_robot_names
from .models import DockerRepo, RepoAccess, RobotAccount
from .permissions import visible_key_id
from .robots import robot_retry, robot_reveal_credentials, robot_rotate
from .snippets import robot_snippets


class ProjectReposView(ProjectViewMixin, TemplateView):
    """The ALL DOCKER REPOS tab."""

    template_name = "docker_repos/project_repos.html"
    tab = "repos"

    paginate_by = 50

    def get(self, request, *args, **kwargs):
        context = self.get_context_data(**kwargs)
        return self.render_to_response(context, status=400 if context["filter_errors"] else 200)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        # The API's list filters with the same FilterSet: the same ?q= (or ?status=...)
        # finds the same rows. An invalid value is said and left out; the others apply.
        filters = RepoFilter(self.request.GET, queryset=selectors.project_repos(self.project))
        repos = filters.qs
        applied = {k: v for k, v in filters.form.cleaned_data.items() if v}
        # A page at a time, so the page costs the same with 10 or 10,000 repositories.
        page = Paginator(repos, self.paginate_by).get_page(self.request.GET.get("page"))
        query = {**applied, "page": page.number} if page.number != 1 else applied
        context.update(
            repos=page.object_list,
            page=page,
            search=applied.get("q", ""),
            filtered=bool(applied),
            only_search=list(applied) == ["q"],
            filter_query=urlencode(applied),
            query=urlencode(query),
            filter_errors=[
                f"{filters.form[name].label}: {message}"
                for name, messages in filters.errors.items()
                for message in messages
            ],
            has_services=self.project.services.exists(),
        )
        return context


class ProjectReposFragmentView(ProjectReposView):
    """The repository list alone; with `?repo=<id>&v=<version>`, the live poll of that one
    row (hub/live.py): 204 while it is unchanged, the list with only that row once it
    changed, and an empty list once the repository is gone (the row then goes)."""

    template_name = "docker_repos/partials/repo_list.html"

    def get(self, request, *args, **kwargs):
        row = _row_id(request, "repo")
        if row is None:
            return super().get(request, *args, **kwargs)
        repo = selectors.project_repos(self.project).filter(pk=row).first()
        if repo is not None and (same := live.unchanged(request, repo)):
            return same
        return self.render_to_response(
            {
                "project": self.project,
                "access": self.access,
                "repos": [repo] if repo is not None else [],
            }
        )


def _row_id(request, name: str) -> int | None:
    """The row a live poll asks for (`?repo=5`), or None for the whole fragment."""
    value = request.GET.get(name, "")
    return int(value) if value.isdigit() and len(value) < 19 else None


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
                repo = services.repo_request(
                    actor=request.user, project=self.project, **form.cleaned_data
                )
            except HubError as exc:
                apply_service_errors(form, exc)
            else:
                # The notice goes once that row has settled (hub.js: data-until-settled).
                messages.success(
                    request,
                    f"Repository {repo.full_name} requested: it becomes Active in a few seconds.",
                    extra_tags=f"#repo-row-{repo.pk}",
                )
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
        repo = (
            DockerRepo.objects.select_related("project", "service", "requested_by")
            .filter(project=self.project, pk=self.kwargs["repo_id"])
            .first()
        )
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
    """The repository's status line, polled while it is in flight (204 while unchanged)."""

    template_name = "docker_repos/partials/repo_status.html"

    def get(self, request, *args, **kwargs):
        return live.unchanged(request, self.repo) or super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        return super().get_context_data(live_poll=True, **kwargs)


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
        return redirect(
            _next_or(request, reverse("docker_repos:project-repos", args=[self.project.shortname]))
        )


def _next_or(request, default: str) -> str:
    """The form's `next` (the page to go back to) when it is a path of this site, else
    `default`. Only a path: redirect() takes any other string for a URL pattern's name, and
    one it cannot reverse (next=web) was a server error."""
    target = request.POST.get("next", "")
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


# --- Access: robots and people ------------------------------------------------------------


def _access_context(repo: DockerRepo, viewer) -> dict:
    """The access list as `viewer` (their ProjectAccess) may see it."""
    robots, accesses = selectors.repo_access_state(repo)
    _show_key_ids(robots, viewer)
    return {"robots": robots, "accesses": accesses}


def _show_key_ids(robots, viewer) -> None:
    for robot in robots:
        robot.visible_key_id = visible_key_id(viewer, robot)


class RepoAccessFragmentView(RepoMixin, TemplateView):
    """The repository's robots and people with their status; with `?robot=<id>` or
    `?person=<access id>` (and `&v=<version>`), the live poll of that one row: 204 while
    it is unchanged, the fragment with only that row once it changed, and without it once
    the entry is gone (the row then goes)."""

    template_name = "docker_repos/partials/repo_access.html"

    def get(self, request, *args, **kwargs):
        robot_id, access_id = _row_id(request, "robot"), _row_id(request, "person")
        if robot_id is None and access_id is None:
            return super().get(request, *args, **kwargs)
        robots, accesses = [], []
        if robot_id is not None:
            robots = list(RobotAccount.objects.filter(repo=self.repo, pk=robot_id))
            _show_key_ids(robots, self.access)
        else:
            accesses = list(
                RepoAccess.objects.filter(repo=self.repo, pk=access_id).select_related("user")
            )
        entry = next(iter([*robots, *accesses]), None)
        if entry is not None and (same := live.unchanged(request, entry)):
            return same
        return self.render_to_response(self.get_context_data(robots=robots, accesses=accesses))

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if "robots" not in kwargs:
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
            rows.append({"membership": membership, "access": access, "pull": pull, "push": push})
        context.update(
            robots=robots,
            rows=rows,
            is_active=self.repo.status == Status.ACTIVE,
            removed_robots=(submitted or {}).get("remove_robot", set()),
            new_robots=(submitted or {}).get("new_robots", ""),
        )
        if kwargs.get("error") is not None:
            context.update(_placed_errors(kwargs["error"]))
        return context

    def post(self, request, *args, **kwargs):
        self.repo = self.get_repo()
        submitted = {
            "pull": set(request.POST.getlist("pull")),
            "push": set(request.POST.getlist("push")),
            "remove_robot": set(request.POST.getlist("remove_robot")),
            "new_robots": request.POST.get("new_robots", ""),
        }
        if "edit" in request.POST:  # back from the summary to the ticks as submitted
            return self.render_to_response(self.get_context_data(submitted=submitted))
        current = list(
            RobotAccount.objects.filter(repo=self.repo, removal_requested=False).values_list(
                "name", flat=True
            )
        )
        try:
            new_names = parse_new_robot_names(submitted["new_robots"], existing=current)
        except forms.ValidationError as exc:
            error = InvalidInput(exc.messages[0], fields={"new_robots": exc.messages})
            return self.render_to_response(
                self.get_context_data(submitted=submitted, error=error), status=400
            )
        robots = [{"name": name} for name in current if name not in submitted["remove_robot"]]
        robots += [{"name": name} for name in new_names]
        users = [
            {"username": username, "writable": username in submitted["push"]}
            for username in sorted(submitted["pull"] | submitted["push"])
        ]
        desired = {"actor": request.user, "repo": self.repo, "robots": robots, "users": users}
        try:
            reviewed = request.POST.get("reviewed") if "confirm" in request.POST else None
            if reviewed is None:
                # Nobody loses access, or push, without seeing it and confirming first.
                preview = access_preview(**desired)
                if preview.takes_away:
                    return self.summary(submitted, preview)
                reviewed = preview.fingerprint
            changes = access_set(**desired, reviewed=reviewed)
        except AccessChangedSinceReview as exc:
            return self.summary(submitted, exc.changes, moved_on=True)
        except HubError as exc:
            context = self.get_context_data(submitted=submitted, error=exc)
            return self.render_to_response(context, status=exc.status_code)
        if changes:
            messages.success(
                request,
                f"Access to {self.repo.full_name} saved: "
                f"{'; '.join(changes.sentences())}. The changes become "
                "Active in a few seconds.",
                extra_tags="#repo-access",
            )
        else:
            messages.info(request, f"Access to {self.repo.full_name} saved: nothing changed.")
        return redirect(
            "docker_repos:detail", shortname=self.project.shortname, repo_id=self.repo.pk
        )

    def summary(self, submitted: dict, changes, *, moved_on: bool = False):
        """What the submission changes, to confirm (or go back and change the ticks)."""
        context = self.get_context_data(
            changes=changes,
            moved_on=moved_on,
            submitted_pull=sorted(submitted["pull"]),
            submitted_push=sorted(submitted["push"]),
            submitted_remove=sorted(submitted["remove_robot"]),
            submitted_new=submitted["new_robots"],
        )
        return TemplateResponse(self.request, "docker_repos/repo_access_confirm.html", context)


def _placed_errors(error: HubError) -> dict:
    """Each message of a refused save once, next to what it is about: the robots' next to
    "Add robot accounts", the people's above their table, any other at the top."""
    robot_errors = [*error.fields.get("new_robots", []), *error.fields.get("robots", [])]
    people_errors = list(error.fields.get("users", []))
    return {
        "robot_errors": robot_errors,
        "people_errors": people_errors,
        "form_errors": [] if robot_errors or people_errors else [error.message],
    }


class RobotMixin(RepoMixin):
    """A robot account of the repository; its credentials are for repo managers only."""

    require_repo_manager = True

    def get_robot(self) -> RobotAccount:
        robot = (
            RobotAccount.objects.select_related("repo__project")
            .filter(repo=self.repo, pk=self.kwargs["robot_id"])
            .first()
        )
        if robot is None:
            raise Http404("No such robot account.")
        return robot

    def load(self) -> None:
        self.repo = self.get_repo()
        self.robot = self.get_robot()

    def back(self):
        return redirect(
            "docker_repos:robot",
            shortname=self.project.shortname,
            repo_id=self.repo.pk,
            robot_id=self.robot.pk,
        )


class RobotPageMixin(RobotMixin, TemplateResponseMixin, ContextMixin):
    template_name = "docker_repos/robot_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        self.robot.visible_key_id = visible_key_id(self.access, self.robot)
        context["robot"] = self.robot
        if self.repo.uri:
            context["snippets"] = robot_snippets(
                registry=self.repo.registry,
                path=self.repo.full_name,
                region=self.repo.region,
                robot_name=self.robot.name,
            )
        return context


class RobotDetailView(RobotPageMixin, View):
    """A robot's credentials (the secret behind Reveal), Rotate, and CI snippets."""

    def get(self, request, *args, **kwargs):
        self.load()
        return self.render_to_response(self.get_context_data())


def _robot_secret_kind(robot: RobotAccount) -> str:
    return f"robot-secret-{robot.pk}"


class RobotRevealView(RobotMixin, View):
    """POST: reveal the robot's secret (audited), then show it once on docker_repos:
    robot-secret, so a reload shows that page again rather than revealing again."""

    def post(self, request, *args, **kwargs):
        self.load()
        try:
            key_id, secret = robot_reveal_credentials(actor=request.user, robot=self.robot)
        except HubError as exc:
            messages.error(request, exc.message)
            return self.back()
        oneshot.stash(
            request,
            _robot_secret_kind(self.robot),
            {"key_id": key_id, "secret": secret},
            secret=True,
        )
        return redirect(
            "docker_repos:robot-secret",
            shortname=self.project.shortname,
            repo_id=self.repo.pk,
            robot_id=self.robot.pk,
        )


class RobotSecretView(RobotPageMixin, View):
    """The robot's page with the secret just revealed, once (not cached): opened again it
    says the secret was shown once and offers Reveal, which is recorded again."""

    def get(self, request, *args, **kwargs):
        self.load()
        shown = oneshot.take(request, _robot_secret_kind(self.robot))
        if shown and shown["key_id"] == self.robot.access_key_id:
            context = self.get_context_data(
                revealed_key_id=shown["key_id"], revealed_secret=shown["secret"]
            )
        else:
            context = self.get_context_data(secret_shown_once=True)
        response = self.render_to_response(context)
        response["Cache-Control"] = "no-store, private"
        return response


class RobotRotateView(RobotMixin, View):
    def post(self, request, *args, **kwargs):
        self.load()
        try:
            robot_rotate(actor=request.user, robot=self.robot)
        except HubError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(
                request,
                f"Rotating the access key of {self.robot.name}: the new "
                "key replaces the old one in a few seconds.",
            )
        return self.back()


def _back_to_repo(request, view) -> str:
    return _next_or(
        request, reverse("docker_repos:detail", args=[view.project.shortname, view.repo.pk])
    )


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
        access = (
            RepoAccess.objects.select_related("repo__project", "user")
            .filter(repo=self.repo, pk=kwargs["access_id"])
            .first()
        )
        if access is None:
            raise Http404("No such access entry.")
        try:
            access_retry(actor=request.user, access=access)
        except HubError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"Retrying {access.user.username}'s access.")
        return redirect(_back_to_repo(request, self))
