"""The reconciler: nothing stays stuck, and ECR keeps matching the database.

One pass (a) re-sends the task of every repository that has sat `pending` or `deleting`
with no progress for longer than HUB_RECONCILE_STUCK_AFTER (a lost message, a killed
worker, a broker that was down at enqueue time); (b) checks the hub's IAM users: every
active person's identity and robot still has its IAM user and stored access key
(recreated with a new key if not), every hub user carries the permissions boundary, and
a deactivated person has no access key left; then (c) compares every active repository
with ECR: failed only because AWS stayed unreachable → sent again; deleted outside the
hub → recreated; settings, lifecycle or repository policy edited outside the hub →
written back. Credentials come before policies: a principal whose IAM user is missing is
left out of the policies this pass writes (AWS refuses a policy naming an ARN that does
not exist) and its recreation writes the policies naming it again.

Each object's repair is its own error boundary: an AWS error on one repository or IAM
user is reported (report, log, `reconcile.error` audit event) and the pass goes on. Only
a failed pass-wide read (the ECR repositories, the hub's IAM users) skips what depends on
it, and that is reported too.
It reads in pages and writes only what differs; every row it changes, it changes through
the apps' services. Several workers may run it at once: on PostgreSQL an advisory lock
lets one pass run."""

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from hub import heartbeat, worker_metrics
from hub.audit import audit
from hub.aws import AwsError
from hub.choices import FailureKind, Status
from hub.exceptions import Conflict
from identities import iam
from identities import services as identity_services
from identities.models import EcrIdentity

from . import access, ecr, offboarding, robots, selectors, services
from .models import DockerRepo, RobotAccount
from .policy import PolicyTooLarge, render_lifecycle_policy, same_policy

logger = logging.getLogger(__name__)

ADVISORY_LOCK_KEY = 0x4855425245434F  # "HUBRECO"


@dataclass(frozen=True)
class ReconcileError:
    object: str  # a repository, an IAM user, or the pass-wide read that failed
    reason: str

    def __str__(self) -> str:
        return f"{self.object}: {self.reason}"


@dataclass
class ReconcileReport:
    dry_run: bool = False
    skipped: bool = False
    checked: int = 0
    requeued: list[str] = field(default_factory=list)
    recreated: list[str] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)
    errors: list[ReconcileError] = field(default_factory=list)

    @property
    def changes(self) -> int:
        return len(self.requeued) + len(self.recreated) + len(self.repaired)

    def lines(self) -> list[str]:
        if self.skipped:
            return ["Another reconciler pass is running; skipped."]
        verb = "would " if self.dry_run else ""
        lines = [f"{verb}re-send the task of {name}" for name in self.requeued]
        lines += [
            f"{verb}recreate {name} (deleted in ECR outside the hub)" for name in self.recreated
        ]
        lines += [f"{verb}repair {item}" for item in self.repaired]
        lines += [f"error: {error}" for error in self.errors]
        errors = len(self.errors)
        lines.append(
            f"{self.checked} active repositories checked, {self.changes} "
            f"change{'s' if self.changes != 1 else ''}"
            f"{' planned' if self.dry_run else ''}"
            f"{f', {errors} error' + ('s' if errors != 1 else '') if errors else ''}."
        )
        return lines


def _error(report: ReconcileReport, name: str, reason: str, *, target=None, project=None) -> None:
    """One object could not be checked or repaired: reported and audited, and the pass
    goes on (the next pass tries again)."""
    report.errors.append(ReconcileError(name, reason))
    if not report.dry_run:
        audit(
            actor=None,
            action="reconcile.error",
            target=target,
            project=project,
            detail={"object": name, "reason": reason},
        )


@contextmanager
def _single_pass():
    if connection.vendor != "postgresql":
        yield True
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [ADVISORY_LOCK_KEY])
        got = cursor.fetchone()[0]
    try:
        yield got
    finally:
        if got:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [ADVISORY_LOCK_KEY])


def reconcile(*, dry_run: bool = False, repo_ids=None, page_size: int = 500) -> ReconcileReport:
    started = time.monotonic()
    try:
        report = _reconcile(dry_run=dry_run, repo_ids=repo_ids, page_size=page_size)
    except Exception:
        if not dry_run:
            worker_metrics.reconcile_pass(outcome="exception")
        raise
    if not (dry_run or report.skipped):
        _record_pass(report, time.monotonic() - started, whole=repo_ids is None)
    return report


def _record_pass(report: ReconcileReport, duration: float, *, whole: bool) -> None:
    """A pass that ran to its end (errors on single objects included): its figures for
    /metrics and the alerts. A pass over a few repositories only (repo_ids) is not the
    periodic pass and leaves the heartbeat alone."""
    worker_metrics.reconcile_pass(
        outcome="completed", duration=duration, changes=report.changes, errors=len(report.errors)
    )
    if whole:
        heartbeat.record(
            heartbeat.RECONCILE,
            detail={
                "duration_seconds": round(duration, 3),
                "changes": report.changes,
                "errors": len(report.errors),
                "checked": report.checked,
            },
        )


def _reconcile(*, dry_run: bool, repo_ids, page_size: int) -> ReconcileReport:
    report = ReconcileReport(dry_run=dry_run)
    with _single_pass() as got:
        if not got:
            report.skipped = True
            return report
        _requeue_stuck(report, repo_ids)
        _requeue_stuck_access(report, repo_ids)  # robots, people's access, identities
        offboarding.robots_rotate_revealed_by_departed(report, repo_ids)  # keys seen by leavers
        # Credentials before policies: a missing IAM user's recreation is queued first, and
        # the policies written below leave it out until it exists (its task names it).
        iam_users = _hub_iam_users(report)
        if repo_ids is None and iam_users is not None:
            _repair_credentials(report, iam_users)
        _repair_drift(report, repo_ids, page_size, iam_users)
    for line in report.lines():
        logger.log(
            logging.WARNING if line.startswith("error:") else logging.INFO, "reconcile: %s", line
        )
    return report


def _hub_iam_users(report: ReconcileReport) -> set[str] | None:
    """The names of the hub's IAM users, or None (reported) if IAM did not answer: the
    credential checks are then skipped and the policies name every principal."""
    try:
        return iam.hub_user_names()
    except AwsError as exc:
        _error(
            report,
            "listing the hub's IAM users",
            f"{exc.reason}; credentials not checked this pass",
        )
        return None


def _requeue_stuck(report: ReconcileReport, repo_ids) -> None:
    cutoff = timezone.now() - timedelta(seconds=settings.HUB_RECONCILE_STUCK_AFTER)
    stuck = DockerRepo.objects.filter(
        status__in=[Status.PENDING, Status.DELETING], updated_at__lt=cutoff
    ).select_related("project")
    if repo_ids is not None:
        stuck = stuck.filter(pk__in=repo_ids)
    for repo in stuck.iterator(chunk_size=500):
        report.requeued.append(repo.full_name)
        if not report.dry_run:
            services.repo_requeue_stuck(repo=repo)


def _requeue_stuck_access(report: ReconcileReport, repo_ids) -> None:
    """Re-send the tasks of robots, access entries and ECR identities that sat pending or
    removing for longer than HUB_RECONCILE_STUCK_AFTER (a lost message, a killed worker)."""
    now = timezone.now()
    cutoff = now - timedelta(seconds=settings.HUB_RECONCILE_STUCK_AFTER)
    for repo in selectors.repos_with_stuck_access(cutoff, repo_ids):
        report.requeued.append(f"{repo.full_name} access")
        if not report.dry_run:
            access.access_requeue_stuck(repo=repo, cutoff=cutoff, now=now)
    if repo_ids is not None:
        return  # a pass limited to some repositories leaves people's identities alone
    stuck = EcrIdentity.objects.filter(
        status__in=[Status.PENDING, Status.REMOVING], updated_at__lt=cutoff
    )
    for identity in stuck.order_by("pk"):
        report.requeued.append(f"ECR identity {identity.iam_username}")
        if not report.dry_run:
            identity_services.ecr_identity_requeue_stuck(identity=identity, now=now)


def _repair_drift(
    report: ReconcileReport, repo_ids, page_size: int, iam_users: set[str] | None
) -> None:
    in_ecr = _ecr_repositories(report)
    if in_ecr is None:
        return
    _retry_given_up(report, repo_ids)  # ECR answered: worth trying those again
    active = (
        DockerRepo.objects.filter(status=Status.ACTIVE)
        .select_related("project", "service")
        .order_by("pk")
    )
    if repo_ids is not None:
        active = active.filter(pk__in=repo_ids)
    for chunk in _chunks(active.iterator(chunk_size=page_size), page_size):
        _repair_chunk(report, chunk, in_ecr, iam_users)


def _ecr_repositories(report: ReconcileReport) -> dict[str, ecr.EcrRepository] | None:
    """Every ECR repository by name, or None (reported) if ECR did not answer."""
    in_ecr: dict[str, ecr.EcrRepository] = {}
    try:
        for page in ecr.iter_repository_pages():
            for found in page:
                in_ecr[found.name] = found
    except AwsError as exc:
        # Nothing was half-written; without the listing no repository can be compared.
        _error(
            report,
            "listing the ECR repositories",
            f"{exc.reason}; repositories not checked this pass",
        )
        return None
    return in_ecr


def _repair_chunk(
    report: ReconcileReport,
    chunk: list[DockerRepo],
    in_ecr: dict[str, ecr.EcrRepository],
    iam_users: set[str] | None,
) -> None:
    """One page of active repositories: recreated if gone from ECR, else compared with
    ECR and repaired."""
    report.checked += len(chunk)
    present = _recreate_missing(report, chunk, in_ecr)
    plans = selectors.repo_policy_plans([repo for repo, _ in present], iam_users=iam_users)
    # Reading two policies per repository is most of a pass: read them in parallel
    # (boto3 clients are thread-safe); compare and write here, one at a time.
    with ThreadPoolExecutor(settings.HUB_RECONCILE_THREADS) as pool:
        observed = pool.map(_read_policies, [repo.full_name for repo, _ in present])
        for (repo, found), policies in zip(present, observed, strict=True):
            if isinstance(policies, AwsError):
                _error(report, repo.full_name, policies.reason, target=repo, project=repo.project)
                continue
            _repair_repo(report, repo, found, *policies, plans[repo.pk])


def _recreate_missing(
    report: ReconcileReport, chunk: list[DockerRepo], in_ecr: dict[str, ecr.EcrRepository]
) -> list[tuple[DockerRepo, ecr.EcrRepository]]:
    """Recreate the repositories deleted in ECR outside the hub; the others, each with
    what ECR holds, are returned for comparing."""
    present = []
    for repo in chunk:
        found = in_ecr.get(repo.full_name)
        if found is None:
            report.recreated.append(repo.full_name)
            if not report.dry_run:
                _recreate(repo)
        else:
            present.append((repo, found))
    return present


def _retry_given_up(report: ReconcileReport, repo_ids) -> None:
    """Repositories that failed only because AWS was unreachable or busy through every
    retry go again, now that AWS answers; other failures wait for a person's Retry."""
    given_up = DockerRepo.objects.filter(
        status=Status.FAILED, failure_kind=FailureKind.GAVE_UP
    ).select_related("project")
    if repo_ids is not None:
        given_up = given_up.filter(pk__in=repo_ids)
    for repo in given_up.iterator(chunk_size=500):
        report.requeued.append(repo.full_name)
        if report.dry_run:
            continue
        try:
            services.repo_resume_given_up(repo=repo)
        except Conflict:
            report.requeued.remove(repo.full_name)  # someone moved it on meanwhile


def _chunks(items, size: int):
    chunk = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _read_policies(name: str) -> tuple[dict | None, dict | None] | AwsError:
    try:
        return ecr.get_lifecycle_policy(name), ecr.get_repository_policy(name)
    except AwsError as exc:
        return exc  # this repository's error, not the pass's


def _repair_credentials(report: ReconcileReport, iam_users: set[str]) -> None:
    """Every active person's identity and robot must still have its IAM user and the
    access key the hub holds. One that lost either (deleted outside the hub) gets both
    back through its own task, with a new key: the credential counts as rotated. Every
    hub user that exists must carry the permissions boundary, and a deactivated person
    (however deactivated: a queryset update sends no signal) must have no access key."""
    rows: list[EcrIdentity | RobotAccount] = [
        *EcrIdentity.objects.select_related("user").order_by("pk"),
        *RobotAccount.objects.select_related("repo__project").order_by("pk"),
    ]
    with ThreadPoolExecutor(settings.HUB_RECONCILE_THREADS) as pool:
        observed = pool.map(lambda row: _observe_credentials(row, iam_users), rows)
        for row, seen in zip(rows, observed, strict=True):
            robot = isinstance(row, RobotAccount)
            project = row.repo.project if isinstance(row, RobotAccount) else None
            if isinstance(seen, AwsError):
                _error(report, row.iam_username, seen.reason, target=row, project=project)
                continue
            keys, boundary = seen
            if row.iam_username in iam_users and boundary != settings.HUB_IAM_PERMISSIONS_BOUNDARY:
                _repair_boundary(report, row, boundary, project)
            if isinstance(row, EcrIdentity) and not row.user.is_active:
                _offboard_inactive(report, row, keys)
                continue
            if (
                row.status != Status.ACTIVE
                or (not robot and not row.access_key_id)
                or row.access_key_id in keys
            ):
                continue
            missing = "IAM user" if row.iam_username not in iam_users else "access key"
            report.repaired.append(f"{row.iam_username}: {missing} missing in IAM, new key")
            if not report.dry_run:
                _recreate_credentials(row, missing)


def _observe_credentials(row, iam_users: set[str]):
    """(access key ids, boundary ARN) of the row's IAM user, or the AwsError (this
    object's). Keys are listed only where the pass uses them."""
    if row.iam_username not in iam_users:
        return [], None
    inactive = isinstance(row, EcrIdentity) and not row.user.is_active
    try:
        keys = (
            iam.list_access_keys(row.iam_username)
            if row.status == Status.ACTIVE or inactive
            else []
        )
        return keys, iam.user_boundary(row.iam_username)
    except AwsError as exc:
        return exc


def _repair_boundary(report: ReconcileReport, row, found: str | None, project) -> None:
    """A hub user without the permissions boundary (made before the hub set one, or
    changed outside the hub) gets it."""
    name = row.iam_username
    if not report.dry_run:
        try:
            iam.put_user_boundary(name)
        except AwsError as exc:
            _error(report, name, exc.reason, target=row, project=project)
            return
        kind = "ecr_identity" if isinstance(row, EcrIdentity) else "robot"
        audit(
            actor=None,
            action=f"{kind}.boundary_repaired",
            target=row,
            project=project,
            detail={
                "iam_username": name,
                "found": found,
                "boundary": settings.HUB_IAM_PERMISSIONS_BOUNDARY,
            },
        )
    report.repaired.append(f"{name}: permissions boundary")


def _offboard_inactive(report: ReconcileReport, identity: EcrIdentity, keys: list[str]) -> None:
    """A deactivated person keeps no access key: the row's goes through the deactivation
    task; keys IAM still lists for a row that holds none are deleted here."""
    if identity.status == Status.REMOVING or not (identity.access_key_id or keys):
        return  # on its way (re-sent if stuck), or nothing to delete
    name = identity.iam_username
    if not report.dry_run:
        try:
            if identity.access_key_id or identity.status != Status.FAILED:
                identity_services.ecr_identity_deactivate(user=identity.user)
            else:
                identity_services.ecr_identity_delete_stray_keys(identity.pk)
        except AwsError as exc:
            _error(report, name, exc.reason, target=identity)
            return
    report.repaired.append(f"{name}: account deactivated, access keys deleted")


def _recreate_credentials(row, missing: str) -> None:
    if isinstance(row, RobotAccount):
        robots.robot_recreate_credentials(row, missing)
    else:
        identity_services.ecr_identity_recreate_credentials(row, missing)


def _recreate(repo: DockerRepo) -> None:
    services.repo_recreate_deleted(repo=repo)


def _repair_repo(
    report: ReconcileReport,
    repo: DockerRepo,
    found: ecr.EcrRepository,
    lifecycle: dict | None,
    policy: dict | None,
    plan,
) -> None:
    # Each part on its own: a refused policy does not keep the settings unrepaired.
    repaired: list[str] = []
    _repair_settings(report, repo, found, repaired)
    _repair_lifecycle_policy(report, repo, lifecycle, repaired)
    _repair_repository_policy(report, repo, policy, plan, repaired)
    if repaired:
        report.repaired.append(f"{repo.full_name}: {', '.join(repaired)}")
        if not report.dry_run:
            audit(
                actor=None,
                action="docker_repo.drift_repaired",
                target=repo,
                project=repo.project,
                detail={"repaired": repaired, "reason": "edited in ECR outside the hub"},
            )


def _repair_settings(
    report: ReconcileReport, repo: DockerRepo, found: ecr.EcrRepository, repaired: list[str]
) -> None:
    if (found.tag_mutability, found.scan_on_push) != (repo.tag_mutability, repo.scan_on_push):
        _write_part(
            report,
            repo,
            repaired,
            "settings",
            lambda: ecr.put_settings(
                repo.full_name, tag_mutability=repo.tag_mutability, scan_on_push=repo.scan_on_push
            ),
        )


def _repair_lifecycle_policy(
    report: ReconcileReport, repo: DockerRepo, lifecycle: dict | None, repaired: list[str]
) -> None:
    wanted = render_lifecycle_policy(keep_last_images=repo.keep_last_images)
    if not same_policy(lifecycle, wanted):
        _write_part(
            report,
            repo,
            repaired,
            "lifecycle policy",
            lambda: ecr.put_lifecycle_policy(repo.full_name, wanted),
        )


def _repair_repository_policy(
    report: ReconcileReport, repo: DockerRepo, policy: dict | None, plan, repaired: list[str]
) -> None:
    try:
        wanted = plan.document()
    except PolicyTooLarge as exc:
        _error(report, repo.full_name, str(exc), target=repo, project=repo.project)
        return
    if not same_policy(policy, wanted) and not _left_out_user_is_back(report, repo, plan):
        _write_part(
            report,
            repo,
            repaired,
            "repository policy",
            lambda: ecr.set_repository_policy(repo.full_name, wanted),
        )


def _write_part(
    report: ReconcileReport, repo: DockerRepo, repaired: list[str], part: str, call
) -> None:
    """Write one part of the repository back (not in a dry run) and note it repaired; an
    AWS error on it is this repository's, reported, and leaves the other parts alone."""
    if not report.dry_run:
        try:
            call()
        except AwsError as exc:
            _error(
                report, repo.full_name, f"{part}: {exc.reason}", target=repo, project=repo.project
            )
            return
    repaired.append(part)


def _left_out_user_is_back(report: ReconcileReport, repo: DockerRepo, plan) -> bool:
    """Whether an IAM user this plan leaves out (missing when the pass began) exists
    again: its recreation, queued by this pass, writes the policy naming it, which this
    pass must not overwrite with an older plan. (An error reading it: not this pass.)"""
    try:
        return any(iam.user_exists(name) for name in sorted(plan.missing_users))
    except AwsError as exc:
        _error(report, repo.full_name, exc.reason, target=repo, project=repo.project)
        return True
