from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Q, QuerySet

from hub.choices import IN_FLIGHT, Status
from projects.models import Project

from .models import DockerRepo, RepoAccess, RobotAccount
from .policy import render_access_policy


def project_repos(project: Project) -> QuerySet[DockerRepo]:
    return (
        DockerRepo.objects.filter(project=project)
        .select_related("project", "service", "requested_by")
        .order_by("name")
    )


def hub_tags(repo: DockerRepo) -> dict[str, str]:
    return {
        "managed-by": "platform-hub",
        "hub-project": repo.project.shortname,
        "hub-service": repo.service.name,
        "hub-repo-id": str(repo.pk),
    }


# --- Access: robots and people ------------------------------------------------------------

# An entry is in the repository policy unless it is on its way out, once its IAM user
# exists (the ARN is known). Pending entries go in (that is how they become active);
# failed ones stay in (a grant that failed to change keeps what AWS already has).
GRANTED = (Status.PENDING, Status.ACTIVE, Status.FAILED)


@dataclass(frozen=True)
class PolicyPlan:
    """One write of a repository policy: the principals it grants, and which rows they
    come from, so that exactly those rows are moved on once AWS accepted it."""

    readers: dict[int, str] = field(default_factory=dict)  # RepoAccess id -> identity ARN
    writers: dict[int, str] = field(default_factory=dict)  # RepoAccess id -> identity ARN
    robots: dict[int, str] = field(default_factory=dict)  # RobotAccount id -> ARN
    cluster: tuple[str, ...] = ()
    removing_accesses: frozenset[int] = frozenset()  # RepoAccess ids left out, to delete
    removing_robots: frozenset[int] = frozenset()  # RobotAccount ids left out, to delete
    # IAM user names left out because IAM lacks them (the reconciler's plans only).
    missing_users: frozenset[str] = frozenset()

    def document(self) -> dict | None:
        """Raises policy.PolicyTooLarge beyond ECR's limit."""
        return render_access_policy(
            readers=list(self.readers.values()),
            writers=list(self.writers.values()),
            robots=list(self.robots.values()),
            cluster=list(self.cluster),
        )


def repo_access_state(repo: DockerRepo) -> tuple[list[RobotAccount], list[RepoAccess]]:
    """The repository's robots and people (with their identities), in two queries."""
    robots = list(RobotAccount.objects.filter(repo=repo).order_by("name"))
    accesses = list(
        RepoAccess.objects.filter(repo=repo)
        .select_related("user", "user__ecr_identity")
        .order_by("user__username")
    )
    return robots, accesses


def access_in_flight(robots, accesses) -> bool:
    return any(entry.status in IN_FLIGHT for entry in [*robots, *accesses])


def _identity_of(access: RepoAccess):
    return getattr(access.user, "ecr_identity", None)


def plan_from(robots, accesses, *, cluster=(), iam_users: set[str] | None = None) -> PolicyPlan:
    """The policy plan of an access list (pure: no queries beyond the rows given).

    With `iam_users` (the names IAM lists), a principal whose IAM user is not among them
    is left out (and named in `missing_users`): AWS refuses a policy naming an ARN that
    does not exist, so naming it would make the whole write fail."""
    readers: dict[int, str] = {}
    writers: dict[int, str] = {}
    robot_arns: dict[int, str] = {}
    missing: set[str] = set()

    def exists(name: str) -> bool:
        if iam_users is None or name in iam_users:
            return True
        missing.add(name)
        return False

    for access in accesses:
        identity = _identity_of(access)
        if (
            access.status in GRANTED
            and not access.removal_requested
            and identity is not None
            and identity.iam_arn
            and exists(identity.iam_username)
        ):
            (writers if access.writable else readers)[access.pk] = identity.iam_arn
    for robot in robots:
        if (
            robot.status in GRANTED
            and not robot.removal_requested
            and robot.iam_arn
            and exists(robot.iam_username)
        ):
            robot_arns[robot.pk] = robot.iam_arn
    return PolicyPlan(
        readers=readers,
        writers=writers,
        robots=robot_arns,
        cluster=tuple(cluster),
        removing_accesses=frozenset(a.pk for a in accesses if a.status == Status.REMOVING),
        removing_robots=frozenset(r.pk for r in robots if r.status == Status.REMOVING),
        missing_users=frozenset(missing),
    )


def repo_policy_plans(
    repos: list[DockerRepo], *, iam_users: set[str] | None = None
) -> dict[int, PolicyPlan]:
    """The policy plans of many repositories in two queries (the reconciler's pages);
    `iam_users` as in plan_from."""
    robots: dict[int, list] = {repo.pk: [] for repo in repos}
    accesses: dict[int, list] = {repo.pk: [] for repo in repos}
    for robot in RobotAccount.objects.filter(repo__in=robots.keys()):
        robots[robot.repo_id].append(robot)
    for access in RepoAccess.objects.filter(repo__in=accesses.keys()).select_related(
        "user", "user__ecr_identity"
    ):
        accesses[access.repo_id].append(access)
    cluster = settings.HUB_ECR_PULL_PRINCIPALS
    return {
        pk: plan_from(robots[pk], accesses[pk], cluster=cluster, iam_users=iam_users)
        for pk in robots
    }


def repo_policy_plan(repo: DockerRepo) -> PolicyPlan:
    robots, accesses = repo_access_state(repo)
    return plan_from(robots, accesses, cluster=settings.HUB_ECR_PULL_PRINCIPALS)


def access_stuck_before(cutoff) -> tuple[QuerySet[RobotAccount], QuerySet[RepoAccess]]:
    """The robots and access entries that sat pending or removing since before `cutoff`."""
    in_flight = [Status.PENDING, Status.REMOVING]
    return (
        RobotAccount.objects.filter(status__in=in_flight, updated_at__lt=cutoff),
        RepoAccess.objects.filter(status__in=in_flight, updated_at__lt=cutoff),
    )


def repos_with_stuck_access(cutoff, repo_ids=None) -> QuerySet[DockerRepo]:
    """The active repositories with access entries stuck since before `cutoff`."""
    stuck_robots, stuck_accesses = access_stuck_before(cutoff)
    repos = (
        DockerRepo.objects.filter(status=Status.ACTIVE)
        .filter(
            Q(pk__in=stuck_robots.values("repo_id")) | Q(pk__in=stuck_accesses.values("repo_id"))
        )
        .select_related("project")
        .order_by("pk")
    )
    return repos if repo_ids is None else repos.filter(pk__in=repo_ids)
