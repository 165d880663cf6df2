"""The reconciler: nothing stays stuck, and ECR keeps matching the database.

One pass (a) re-sends the task of every repository that has sat `pending` or `deleting`
with no progress for longer than HUB_RECONCILE_STUCK_AFTER (a lost message, a killed
worker, a broker that was down at enqueue time) and (b) compares every active repository
with ECR: failed only because AWS stayed unreachable → sent again; deleted outside the
hub → recreated; settings, lifecycle or repository policy
edited outside the hub → written back; and (c) checks that every active person's identity
and robot still has its IAM user and stored access key (recreated with a new key if not).
It reads in pages and writes only what differs.
Several workers may run it at once: on PostgreSQL an advisory lock lets one pass run."""

import logging
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from hub.audit import audit
from hub.aws import AwsError
from hub.choices import Status
from hub.exceptions import Conflict
from hub.tasks import GAVE_UP, enqueue_on_commit
from identities import iam
from identities.models import EcrIdentity
from identities.tasks import provision_identity

from . import access, ecr, selectors, services
from .models import DockerRepo, RobotAccount
from .policy import PolicyTooLarge, render_lifecycle_policy, same_policy
from .tasks import provision_robot

logger = logging.getLogger(__name__)

ADVISORY_LOCK_KEY = 0x4855425245434F  # "HUBRECO"


@dataclass
class ReconcileReport:
    dry_run: bool = False
    skipped: bool = False
    checked: int = 0
    requeued: list[str] = field(default_factory=list)
    recreated: list[str] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def changes(self) -> int:
        return len(self.requeued) + len(self.recreated) + len(self.repaired)

    def lines(self) -> list[str]:
        if self.skipped:
            return ["Another reconciler pass is running; skipped."]
        verb = "would " if self.dry_run else ""
        lines = [f"{verb}re-send the task of {name}" for name in self.requeued]
        lines += [f"{verb}recreate {name} (deleted in ECR outside the hub)"
                  for name in self.recreated]
        lines += [f"{verb}repair {item}" for item in self.repaired]
        lines += [f"error: {error}" for error in self.errors]
        lines.append(f"{self.checked} active repositories checked, {self.changes} "
                     f"change{'s' if self.changes != 1 else ''}"
                     f"{' planned' if self.dry_run else ''}.")
        return lines


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
    report = ReconcileReport(dry_run=dry_run)
    with _single_pass() as got:
        if not got:
            report.skipped = True
            return report
        _requeue_stuck(report, repo_ids)
        access.requeue_stuck(report, repo_ids)  # robots, people's access, identities
        access.robots_rotate_revealed_by_departed(report, repo_ids)  # keys seen by leavers
        try:
            _repair_drift(report, repo_ids, page_size)
            if repo_ids is None:
                _repair_credentials(report)
        except AwsError as exc:
            # AWS unreachable: the next pass tries again; nothing was half-written.
            report.errors.append(exc.reason)
    for line in report.lines():
        logger.info("reconcile: %s", line)
    return report


def _requeue_stuck(report: ReconcileReport, repo_ids) -> None:
    cutoff = timezone.now() - timedelta(seconds=settings.HUB_RECONCILE_STUCK_AFTER)
    stuck = DockerRepo.objects.filter(status__in=[Status.PENDING, Status.DELETING],
                                      updated_at__lt=cutoff).select_related("project")
    if repo_ids is not None:
        stuck = stuck.filter(pk__in=repo_ids)
    for repo in stuck.iterator(chunk_size=500):
        report.requeued.append(repo.full_name)
        if report.dry_run:
            continue
        with transaction.atomic():
            # Touch the row so the next pass waits another threshold before re-sending.
            moved = DockerRepo.objects.filter(pk=repo.pk, status=repo.status,
                                              updated_at=repo.updated_at).update(
                updated_at=timezone.now())
            if moved:
                services.repo_enqueue_pending(repo=repo)


def _repair_drift(report: ReconcileReport, repo_ids, page_size: int) -> None:
    in_ecr: dict[str, ecr.EcrRepository] = {}
    for page in ecr.iter_repository_pages():
        for found in page:
            in_ecr[found.name] = found
    _retry_given_up(report, repo_ids)  # ECR answered: worth trying those again
    active = (DockerRepo.objects.filter(status=Status.ACTIVE)
              .select_related("project", "service").order_by("pk"))
    if repo_ids is not None:
        active = active.filter(pk__in=repo_ids)
    for chunk in _chunks(active.iterator(chunk_size=page_size), page_size):
        report.checked += len(chunk)
        present = []
        for repo in chunk:
            found = in_ecr.get(repo.full_name)
            if found is None:
                report.recreated.append(repo.full_name)
                if not report.dry_run:
                    _recreate(repo)
            else:
                present.append((repo, found))
        plans = selectors.repo_policy_plans([repo for repo, _ in present])
        # Reading two policies per repository is most of a pass: read them in parallel
        # (boto3 clients are thread-safe); compare and write here, one at a time.
        with ThreadPoolExecutor(settings.HUB_RECONCILE_THREADS) as pool:
            observed = pool.map(_read_policies, [repo.full_name for repo, _ in present])
            for (repo, found), (lifecycle, policy) in zip(present, observed, strict=True):
                _repair_repo(report, repo, found, lifecycle, policy, plans[repo.pk])


def _retry_given_up(report: ReconcileReport, repo_ids) -> None:
    """Repositories that failed only because AWS was unreachable or busy through every
    retry go again, now that AWS answers; other failures wait for a person's Retry."""
    given_up = DockerRepo.objects.filter(status=Status.FAILED,
                                         status_detail__contains=GAVE_UP).select_related("project")
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


def _read_policies(name: str) -> tuple[dict | None, dict | None]:
    return ecr.get_lifecycle_policy(name), ecr.get_repository_policy(name)


def _repair_credentials(report: ReconcileReport) -> None:
    """Every active person's identity and robot must still have its IAM user and the
    access key the hub holds. One that lost either (deleted outside the hub) gets both
    back through its own task, with a new key: the credential counts as rotated."""
    users = iam.hub_user_names()
    rows = [*EcrIdentity.objects.filter(status=Status.ACTIVE).exclude(access_key_id=""),
            *RobotAccount.objects.filter(status=Status.ACTIVE).select_related("repo__project")]
    with ThreadPoolExecutor(settings.HUB_RECONCILE_THREADS) as pool:
        keys = pool.map(lambda row: iam.list_access_keys(row.iam_username)
                        if row.iam_username in users else [], rows)
        for row, row_keys in zip(rows, keys, strict=True):
            if row.access_key_id in row_keys:
                continue
            missing = "IAM user" if row.iam_username not in users else "access key"
            report.repaired.append(f"{row.iam_username}: {missing} missing in IAM, new key")
            if not report.dry_run:
                _recreate_credentials(row, missing)


def _recreate_credentials(row, missing: str) -> None:
    model = type(row)
    with transaction.atomic():
        moved = model.objects.filter(pk=row.pk, status=Status.ACTIVE).update(
            status=Status.PENDING, rotation_requested=True, status_changed_at=timezone.now(),
            updated_at=timezone.now(),
            status_detail=f"The {missing} was deleted outside the hub; recreating it with a "
                          "new access key.")
        if not moved:
            return
        robot = isinstance(row, RobotAccount)
        audit(actor=None, action=f"{'robot' if robot else 'ecr_identity'}.drift_recreated",
              target=row, project=row.repo.project if robot else None,
              detail={"missing": missing, "iam_username": row.iam_username,
                      "old_access_key_id": row.access_key_id})
        if robot:
            enqueue_on_commit(provision_robot, row.pk)
        else:
            enqueue_on_commit(provision_identity, row.pk)


def _recreate(repo: DockerRepo) -> None:
    with transaction.atomic():
        moved = DockerRepo.objects.filter(pk=repo.pk, status=Status.ACTIVE).update(
            status=Status.PENDING, uri="", arn="", status_changed_at=timezone.now(),
            updated_at=timezone.now(),
            status_detail="The ECR repository was deleted outside the hub; recreating it.",
        )
        if not moved:
            return
        audit(actor=None, action="docker_repo.drift_recreated", target=repo,
              project=repo.project, detail={"reason": "deleted in ECR outside the hub"})
        repo.status = Status.PENDING
        services.repo_enqueue_pending(repo=repo)


def _repair_repo(report: ReconcileReport, repo: DockerRepo, found: ecr.EcrRepository,
                 lifecycle: dict | None, policy: dict | None, plan) -> None:
    name = repo.full_name
    repaired = []
    if (found.tag_mutability, found.scan_on_push) != (repo.tag_mutability, repo.scan_on_push):
        repaired.append("settings")
        if not report.dry_run:
            ecr.put_settings(name, tag_mutability=repo.tag_mutability,
                             scan_on_push=repo.scan_on_push)
    wanted_lifecycle = render_lifecycle_policy(keep_last_images=repo.keep_last_images)
    if not same_policy(lifecycle, wanted_lifecycle):
        repaired.append("lifecycle policy")
        if not report.dry_run:
            ecr.put_lifecycle_policy(name, wanted_lifecycle)
    try:
        wanted_policy = plan.document()
    except PolicyTooLarge as exc:
        report.errors.append(f"{name}: {exc}")
    else:
        if not same_policy(policy, wanted_policy):
            repaired.append("repository policy")
            if not report.dry_run:
                ecr.set_repository_policy(name, wanted_policy)
    if repaired:
        report.repaired.append(f"{name}: {', '.join(repaired)}")
        if not report.dry_run:
            audit(actor=None, action="docker_repo.drift_repaired", target=repo,
                  project=repo.project,
                  detail={"repaired": repaired, "reason": "edited in ECR outside the hub"})
