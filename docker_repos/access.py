"""Who may pull and push a repository: its robot accounts and the people granted access.
(The functions are services; `docker_repos.services` re-exports the public ones.)

People and robots are IAM users; what they may do with a repository is its resource
policy, rendered from these rows and written whole (`access_sync`). An entry becomes
`active` only after AWS accepted a policy containing it, and an entry being removed is
deleted only after AWS accepted a policy without it."""

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from hub.audit import audit, audit_many
from hub.aws import AwsPermanentError, AwsTransientError
from hub.choices import Status, move
from hub.exceptions import Conflict, InvalidInput, NotAllowed
from hub.models import AuditEvent
from hub.tasks import enqueue_on_commit
from identities import services as identity_services
from identities.credentials import converge_credentials, converging_alone, secret_of
from identities.models import EcrIdentity, identity_iam_username
from projects.models import Membership, Project
from projects.permissions import project_access

from . import ecr, selectors
from .models import (
    DockerRepo,
    RepoAccess,
    RobotAccount,
    check_robot_name_length,
    robot_iam_username,
)
from .policy import ECR_POLICY_MAX_CHARS, PolicyTooLarge, placeholder_user_arn

# How often one sync re-writes the policy when the access list changed while it wrote.
SYNC_ROUNDS = 3

# The most robots and people one access list can name. Each is a principal of the
# repository policy, whose ARN costs at least ~50 of the ECR_POLICY_MAX_CHARS (10,240)
# characters ECR allows: a longer list can never fit, so it is refused from its length
# alone, before any per-entry query or lock (the exact size is checked after).
MAX_ACCESS_ENTRIES = ECR_POLICY_MAX_CHARS // 50


def _require_repo_manager(actor, project: Project) -> None:
    if not project_access(actor, project).is_repo_manager:
        raise NotAllowed("Only repo managers of this project can do this.")


def _lock_repo(repo: DockerRepo) -> DockerRepo:
    return (DockerRepo.objects.select_for_update(of=("self",)).select_related("project")
            .get(pk=repo.pk))


def _lock_repo_id(repo_id: int) -> None:
    """Every transaction that changes several of a repository's access rows locks the
    repository's row first (access_set's rule: one change of its access at a time). Without
    it, a policy sync recording its outcome and a concurrent change lock the same rows in
    different orders, and PostgreSQL aborts one of them as a deadlock."""
    list(DockerRepo.objects.select_for_update().filter(pk=repo_id).values_list("pk"))


def _lock_active_repo(repo: DockerRepo) -> DockerRepo:
    locked = _lock_repo(repo)
    _require_active(locked)
    return locked


def _require_active(locked: DockerRepo) -> None:
    if locked.status != Status.ACTIVE:
        raise Conflict(f"Access to {locked.full_name} can be changed once it is active; it is "
                       f"{locked.get_status_display().lower()}.")


# --- The desired state, from people ------------------------------------------------------


def check_access_list_length(robots, users) -> None:
    """Refuse an access list longer than any repository policy can hold, from the lists'
    lengths alone (constant time, nothing read)."""
    count = sum(len(entries) for entries in (robots, users) if isinstance(entries, list | tuple))
    if count > MAX_ACCESS_ENTRIES:
        message = (f"An access list can name at most {MAX_ACCESS_ENTRIES} robots and people "
                   f"together (a repository policy holds {ECR_POLICY_MAX_CHARS} characters); "
                   f"this one names {count}. Remove some people or robots.")
        raise InvalidInput(message, fields={"robots": [message], "users": [message]})


def _parse_robots(robots) -> list[str]:
    if not isinstance(robots, list | tuple):
        raise InvalidInput("robots must be a list of {name}.",
                           fields={"robots": ["Must be a list."]})
    names, errors = [], []
    for entry in robots:
        name = entry.get("name") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not name.strip():
            errors.append("Every robot account needs a name.")
            continue
        name = name.strip()
        if name in names:
            errors.append(f"The robot account name {name} is given twice.")
            continue
        names.append(name)
    if errors:
        raise InvalidInput(errors[0], fields={"robots": errors})
    return names


def _parse_users(users) -> dict[str, bool]:
    """{username: writable} of the people to grant access."""
    if not isinstance(users, list | tuple):
        raise InvalidInput("users must be a list of {username, writable}.",
                           fields={"users": ["Must be a list."]})
    wanted, errors = {}, []
    for entry in users:
        username = entry.get("username") if isinstance(entry, dict) else None
        if not isinstance(username, str) or not username:
            errors.append("Every person needs a username.")
            continue
        writable, read = entry.get("writable", False), entry.get("read", True)
        if not isinstance(writable, bool) or not isinstance(read, bool):
            errors.append(f"{username}: writable and read must be true or false.")
            continue
        if writable and not read:
            errors.append(f"{username}: push (write) access without pull (read) is not "
                          "possible; pushing needs pulling.")
            continue
        if not read:
            continue  # no access at all: the same as leaving the person out
        if username in wanted:
            errors.append(f"{username} is given twice.")
            continue
        wanted[username] = writable
    if errors:
        raise InvalidInput(errors[0], fields={"users": errors})
    return wanted


def _new_robot(repo: DockerRepo, name: str, actor) -> RobotAccount:
    robot = RobotAccount(repo=repo, name=name, created_by=actor if actor.is_authenticated
                         else None,
                         iam_username=robot_iam_username(repo.project.shortname, repo.name, name))
    try:
        # The length first, alone: one limit (the room IAM leaves), not the column's too.
        check_robot_name_length(repo, name)
        robot.full_clean(exclude=["iam_username"], validate_unique=False,
                         validate_constraints=False)
    except ValidationError as exc:
        messages = exc.message_dict.get("name") or exc.messages
        label = name if len(name) <= 80 else f"{name[:80]}…"
        raise InvalidInput(f"Robot account {label}: {messages[0]}",
                           fields={"robots": [f"{label}: {m}" for m in messages]}) from None
    clash = (RobotAccount.objects.filter(iam_username__iexact=robot.iam_username)
             .select_related("repo__project").first())
    if clash is not None:
        message = (f"Robot account {name!r} would have the IAM user name {robot.iam_username}, "
                   f"already used by {clash}: choose another name.")
        raise InvalidInput(message, fields={"robots": [message]})
    return robot


def _check_policy_size(repo, robots: list[RobotAccount], grants: dict, identities: dict):
    """Render the policy the desired state will need (with stand-in ARNs for IAM users not
    created yet) so an access list ECR cannot hold is refused now, with nothing changed."""
    plan = selectors.PolicyPlan(
        readers={n: _arn_for(u, identities) for n, (u, w) in enumerate(grants.values()) if not w},
        writers={n: _arn_for(u, identities) for n, (u, w) in enumerate(grants.values()) if w},
        robots={n: r.iam_arn or placeholder_user_arn(r.iam_username)
                for n, r in enumerate(robots)},
        cluster=tuple(settings.HUB_ECR_PULL_PRINCIPALS),
    )
    try:
        plan.document()
    except PolicyTooLarge as exc:
        raise InvalidInput(str(exc)) from None


def _arn_for(user, identities: dict) -> str:
    identity = identities.get(user.pk)
    if identity is not None and identity.iam_arn:
        return identity.iam_arn
    name = identity.iam_username if identity is not None else identity_iam_username(
        user.username)
    return placeholder_user_arn(name)


PULL, PULL_PUSH = "pull", "pull + push"


def _mode(writable: bool) -> str:
    return PULL_PUSH if writable else PULL


@dataclass(frozen=True)
class AccessChanges:
    """What a submitted access list changes, in words a person checks before saving:
    MANAGE ACCESS asks to confirm whenever someone would lose access or push."""

    granted: tuple[tuple[str, str], ...] = ()  # (username, mode)
    changed: tuple[tuple[str, str, str], ...] = ()  # (username, mode before, mode after)
    removed: tuple[tuple[str, str], ...] = ()  # (username, the mode they lose)
    robots_added: tuple[str, ...] = ()
    robots_removed: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return any((self.granted, self.changed, self.removed, self.robots_added,
                    self.robots_removed))

    @property
    def downgraded(self) -> tuple[tuple[str, str, str], ...]:
        return tuple(c for c in self.changed if c[1] == PULL_PUSH and c[2] == PULL)

    @property
    def takes_away(self) -> bool:
        """Someone (a person or a robot) loses access, or push."""
        return bool(self.removed or self.robots_removed or self.downgraded)

    @property
    def fingerprint(self) -> str:
        """Names this exact set of changes: what a person confirmed is what is saved."""
        return hashlib.sha256(repr(self).encode()).hexdigest()[:20]

    def sentences(self) -> list[str]:
        return ([f"{name} gets {mode}" for name, mode in self.granted]
                + [f"{name} changes from {before} to {after}"
                   for name, before, after in self.changed]
                + [f"{name} loses {mode}" for name, mode in self.removed]
                + [f"robot account {name} is added" for name in self.robots_added]
                + [f"robot account {name} is removed" for name in self.robots_removed])


class AccessChangedSinceReview(Conflict):
    """The access list moved on between the summary a person confirmed and the save."""

    def __init__(self, changes: AccessChanges):
        super().__init__("The access list changed since you reviewed it: check the changes "
                         "again before saving.")
        self.changes = changes


@dataclass
class _AccessPlan:
    repo: DockerRepo
    changes: AccessChanges
    new_robots: list[RobotAccount]
    removed_robots: list[RobotAccount]
    grants: dict  # username -> (user, writable), the people whose entry is written
    removed_access: list[RepoAccess]
    current_access: dict
    identities: dict


def _parse_access_list(robots, users) -> tuple[list[str], dict[str, bool]]:
    """The request's own shape, checked before any query or lock (outside the transaction:
    a list that cannot be right costs nothing)."""
    check_access_list_length(robots, users)
    return _parse_robots(robots), _parse_users(users)


def _plan_access(*, actor, repo: DockerRepo, wanted_robots: list[str],
                 wanted_users: dict[str, bool]) -> _AccessPlan:
    """Lock the repository and validate the desired list against it: every refusal is
    raised here, before anything is written. Call inside a transaction."""
    repo = _lock_repo(repo)  # one change of a repository's access at a time
    _require_repo_manager(actor, repo.project)
    _require_active(repo)
    current_robots = {r.name: r for r in
                      RobotAccount.objects.select_for_update().filter(repo=repo)}
    current_access = {a.user.username: a for a in RepoAccess.objects.select_for_update(
        of=("self",)).filter(repo=repo).select_related("user")}
    members = {m.user.username: m.user for m in
               Membership.objects.filter(project=repo.project).select_related("user")}

    strangers = [u for u in wanted_users if u not in members]
    if strangers:
        message = (f"Not a member of {repo.project.shortname}: {', '.join(strangers)}. "
                   "Only project members can be given access.")
        raise InvalidInput(message, fields={"users": [message]})
    grants = {name: (members[name], writable) for name, writable in wanted_users.items()}

    def leaving(access: RepoAccess) -> bool:
        return access.status == Status.REMOVING or access.removal_requested

    changed_users = {name for name, (user, writable) in grants.items()
                     if name not in current_access
                     or current_access[name].writable != writable
                     or leaving(current_access[name])}
    inactive = sorted(n for n in changed_users if not grants[n][0].is_active)
    if inactive:
        message = f"Deactivated accounts cannot be given access: {', '.join(inactive)}."
        raise InvalidInput(message, fields={"users": [message]})
    new_robots = []
    for name in wanted_robots:
        existing = current_robots.get(name)
        if existing is None:
            new_robots.append(_new_robot(repo, name, actor))
        elif existing.status == Status.REMOVING or existing.removal_requested:
            raise Conflict(f"Robot account {name} is being removed: add it again once it "
                           "is gone (or retry its removal if it failed).",
                           fields={"robots": [f"{name} is being removed."]})
    identities = {i.user_id: i for i in EcrIdentity.objects.filter(
        user__in=[user for user, _ in grants.values()])}
    kept_robots = [r for n, r in current_robots.items() if n in wanted_robots]
    _check_policy_size(repo, [*kept_robots, *new_robots], grants, identities)

    removed_robots = [robot for name, robot in sorted(current_robots.items())
                      if name not in wanted_robots and not robot.removal_requested]
    removed_access = [access for name, access in sorted(current_access.items())
                      if name not in grants and not access.removal_requested]
    granted, changed = [], []
    for name in sorted(changed_users):
        access, writable = current_access.get(name), grants[name][1]
        if access is None or leaving(access):
            granted.append((name, _mode(writable)))
        else:
            changed.append((name, _mode(access.writable), _mode(writable)))
    changes = AccessChanges(
        granted=tuple(granted), changed=tuple(changed),
        removed=tuple((a.user.username, _mode(a.writable)) for a in removed_access),
        robots_added=tuple(r.name for r in new_robots),
        robots_removed=tuple(r.name for r in removed_robots))
    return _AccessPlan(repo=repo, changes=changes, new_robots=new_robots,
                       removed_robots=removed_robots,
                       grants={n: grants[n] for n in sorted(changed_users)},
                       removed_access=removed_access, current_access=current_access,
                       identities=identities)


def access_preview(*, actor, repo: DockerRepo, robots: list[dict],
                   users: list[dict]) -> AccessChanges:
    """What `access_set` with these lists would change, validated the same way (the same
    refusals), with nothing written."""
    wanted_robots, wanted_users = _parse_access_list(robots, users)
    with transaction.atomic():
        return _plan_access(actor=actor, repo=repo, wanted_robots=wanted_robots,
                            wanted_users=wanted_users).changes


def access_set(*, actor, repo: DockerRepo, robots: list[dict], users: list[dict],
               reviewed: str | None = None) -> AccessChanges:
    """Make the repository's access list exactly `robots` ([{"name"}]) and `users`
    ([{"username", "writable"}]): new entries become pending, missing ones removing,
    changed ones pending again. One policy sync is enqueued, plus the creation of the IAM
    users that do not exist yet. On any error nothing changes.

    `reviewed`: the fingerprint of the changes a person confirmed (access_preview); if
    the list would now change anything else, AccessChangedSinceReview and nothing is
    saved."""
    from . import tasks

    wanted_robots, wanted_users = _parse_access_list(robots, users)
    with transaction.atomic():
        plan = _plan_access(actor=actor, repo=repo, wanted_robots=wanted_robots,
                            wanted_users=wanted_users)
        repo, changes = plan.repo, plan.changes
        if reviewed is not None and reviewed != changes.fingerprint:
            raise AccessChangedSinceReview(changes)

        # Robots.
        for robot in plan.new_robots:
            robot.save()
            enqueue_on_commit(tasks.provision_robot, robot.pk)
        for robot in plan.removed_robots:
            move(robot, Status.REMOVING, rotation_requested=False, removal_requested=True)

        # People.
        granted = {}
        for name, (user, writable) in plan.grants.items():
            access = plan.current_access.get(name)
            if access is None:
                RepoAccess.objects.create(repo=repo, user=user, writable=writable)
            else:
                move(access, Status.PENDING, writable=writable, removal_requested=False)
            granted[name] = "pull+push" if writable else "pull"
            _ensure_identity(user, plan.identities.get(user.pk), actor=actor)
        for access in plan.removed_access:
            move(access, Status.REMOVING, removal_requested=True)

        if not changes:
            return changes
        audit(actor=actor, action="docker_repo.access_changed", target=repo,
              project=repo.project, detail={
                  "robots_added": list(changes.robots_added),
                  "robots_removed": list(changes.robots_removed),
                  "users_granted": granted,
                  "users_removed": [name for name, _ in changes.removed],
              })
        enqueue_on_commit(tasks.sync_repo_access, repo.pk)
    return changes


def _ensure_identity(user, identity: EcrIdentity | None, *, actor) -> None:
    """A person granted access needs an ECR identity: created if they have none, tried
    again if creating it failed."""
    if identity is None:
        identity_services.ecr_identity_request(user=user, actor=actor)
    elif identity.status == Status.FAILED and not identity.iam_arn and user.is_active:
        identity_services.ecr_identity_retry(user=user, actor=actor)


def robot_reveal_credentials(*, actor, robot: RobotAccount) -> tuple[str, str]:
    """The robot's access key id and secret, for repo managers; audited."""
    robot = RobotAccount.objects.select_related("repo__project").get(pk=robot.pk)
    _require_repo_manager(actor, robot.repo.project)
    if robot.status != Status.ACTIVE or not robot.has_key:
        raise Conflict(f"Robot account {robot.name} is {robot.get_status_display().lower()}: "
                       "its credentials are shown once it is active.")
    with transaction.atomic():
        audit(actor=actor, action="robot.credentials_revealed", target=robot,
              project=robot.repo.project, detail={"access_key_id": robot.access_key_id})
    return robot.access_key_id, secret_of(robot)


def robot_rotate(*, actor, robot: RobotAccount) -> RobotAccount:
    """Replace the robot's access key: the new one is created and stored before the old
    one is deleted."""
    from . import tasks

    with transaction.atomic():
        locked = (RobotAccount.objects.select_for_update(of=("self",))
                  .select_related("repo__project").get(pk=robot.pk))
        _require_repo_manager(actor, locked.repo.project)
        if locked.status != Status.ACTIVE:
            raise Conflict(f"Only an active robot account can be rotated; {locked.name} is "
                           f"{locked.get_status_display().lower()}.")
        move(locked, Status.PENDING, "Creating a new access key; the current one works until "
                                      "it is replaced.", rotation_requested=True)
        audit(actor=actor, action="robot.rotation_requested", target=locked,
              project=locked.repo.project, detail={"access_key_id": locked.access_key_id})
        enqueue_on_commit(tasks.provision_robot, locked.pk)
    return locked


def robot_retry(*, actor, robot: RobotAccount) -> RobotAccount:
    from . import tasks

    _require_repo_manager(actor, robot.repo.project)
    with transaction.atomic():
        _lock_active_repo(robot.repo)
        locked = (RobotAccount.objects.select_for_update(of=("self",))
                  .select_related("repo__project").get(pk=robot.pk))
        if locked.status != Status.FAILED:
            raise Conflict(f"Only a failed robot account can be retried; {locked.name} is "
                           f"{locked.get_status_display().lower()}.")
        if locked.removal_requested:
            move(locked, Status.REMOVING)
            enqueue_on_commit(tasks.sync_repo_access, locked.repo_id)
        else:
            move(locked, Status.PENDING)
            enqueue_on_commit(tasks.provision_robot, locked.pk)
        audit(actor=actor, action="robot.retried", target=locked, project=locked.repo.project,
              detail={"status": locked.status})
    return locked


def access_retry(*, actor, access: RepoAccess) -> RepoAccess:
    from . import tasks

    _require_repo_manager(actor, access.repo.project)
    with transaction.atomic():
        _lock_active_repo(access.repo)
        locked = (RepoAccess.objects.select_for_update(of=("self",))
                  .select_related("repo__project", "user").get(pk=access.pk))
        if locked.status != Status.FAILED:
            raise Conflict(f"Only failed access can be retried; {locked.user.username}'s is "
                           f"{locked.get_status_display().lower()}.")
        move(locked, Status.REMOVING if locked.removal_requested else Status.PENDING)
        if not locked.removal_requested:
            _ensure_identity(locked.user, EcrIdentity.objects.filter(user=locked.user).first(),
                             actor=actor)
        audit(actor=actor, action="repo_access.retried", target=locked,
              project=locked.repo.project, detail={"user": locked.user.username,
                                                   "status": locked.status})
        enqueue_on_commit(tasks.sync_repo_access, locked.repo_id)
    return locked


def access_enqueue_pending(*, repo: DockerRepo) -> None:
    """Send the tasks that move the repository's access entries out of their transitional
    states (the reconciler, for entries stuck after a lost message)."""
    from . import tasks

    robots, accesses = selectors.repo_access_state(repo)
    for robot in robots:
        if robot.status == Status.PENDING and (robot.rotation_requested or not robot.iam_arn):
            enqueue_on_commit(tasks.provision_robot, robot.pk)
    if selectors.access_in_flight(robots, accesses):
        enqueue_on_commit(tasks.sync_repo_access, repo.pk)


def requeue_stuck(report, repo_ids=None) -> None:
    """The reconciler's part for access: re-send the tasks of robots, access entries and
    ECR identities that sat pending or removing for longer than HUB_RECONCILE_STUCK_AFTER
    (a lost message, a killed worker). Touches them so the next pass waits again."""
    now = timezone.now()
    cutoff = now - timedelta(seconds=settings.HUB_RECONCILE_STUCK_AFTER)
    in_flight = [Status.PENDING, Status.REMOVING]
    stuck_robots = RobotAccount.objects.filter(status__in=in_flight, updated_at__lt=cutoff)
    stuck_accesses = RepoAccess.objects.filter(status__in=in_flight, updated_at__lt=cutoff)
    repos = (DockerRepo.objects.filter(status=Status.ACTIVE)
             .filter(Q(pk__in=stuck_robots.values("repo_id"))
                     | Q(pk__in=stuck_accesses.values("repo_id")))
             .select_related("project").order_by("pk"))
    if repo_ids is not None:
        repos = repos.filter(pk__in=repo_ids)
    for repo in repos:
        report.requeued.append(f"{repo.full_name} access")
        if report.dry_run:
            continue
        with transaction.atomic():
            stuck_robots.filter(repo=repo).update(updated_at=now)
            stuck_accesses.filter(repo=repo).update(updated_at=now)
            access_enqueue_pending(repo=repo)
    if repo_ids is not None:
        return  # a pass limited to some repositories leaves people's identities alone
    stuck = EcrIdentity.objects.filter(status__in=in_flight, updated_at__lt=cutoff)
    for identity in stuck.order_by("pk"):
        report.requeued.append(f"ECR identity {identity.iam_username}")
        if report.dry_run:
            continue
        with transaction.atomic():
            moved = EcrIdentity.objects.filter(
                pk=identity.pk, status=identity.status, updated_at=identity.updated_at
            ).update(updated_at=now)
            if moved:
                identity_services.ecr_identity_enqueue_pending(identity=identity)


# --- Reactions to other apps ------------------------------------------------------------


def access_member_removed(*, project: Project, user, actor=None) -> None:
    """A person left the project: their access to each of its repositories goes."""
    from . import tasks

    with transaction.atomic():
        accesses = (RepoAccess.objects.select_for_update(of=("self",))
                    .filter(repo__project=project, user=user)
                    .exclude(status=Status.REMOVING).select_related("repo"))
        repo_ids = set()
        for access in accesses:
            move(access, Status.REMOVING, removal_requested=True)
            audit(actor=actor, action="repo_access.removal_requested", target=access,
                  project=project, detail={"user": user.username,
                                           "repo": access.repo.full_name,
                                           "reason": "removed from the project"})
            repo_ids.add(access.repo_id)
        for repo_id in sorted(repo_ids):
            enqueue_on_commit(tasks.sync_repo_access, repo_id)
        _rotate_keys_seen_by(user, LEFT_PROJECT, robots=RobotAccount.objects.filter(
            repo__project=project))


def access_identity_ready(*, identity: EcrIdentity, iam_user_created: bool = False) -> None:
    """A person's IAM user now exists: the repositories waiting for it can name it. One
    just (re)created (deleted outside the hub) has a new unique id, which no policy written
    before grants: then every repository granting the person is written again."""
    from . import tasks

    statuses = selectors.GRANTED if iam_user_created else [Status.PENDING]
    repo_ids = (RepoAccess.objects.filter(user_id=identity.user_id, status__in=statuses)
                .values_list("repo_id", flat=True).distinct())
    for repo_id in sorted(repo_ids):
        enqueue_on_commit(tasks.sync_repo_access, repo_id)


def access_identity_failed(*, identity: EcrIdentity, reason: str) -> None:
    """Creating a person's IAM user failed: the access waiting for it fails with the reason
    (Retry on the access tries the identity again)."""
    if identity.iam_arn:
        return  # the IAM user exists: the policy can name it, nothing waits
    with transaction.atomic():
        waiting = (RepoAccess.objects.select_for_update(of=("self",))
                   .filter(user_id=identity.user_id, status=Status.PENDING)
                   .select_related("repo__project", "user"))
        for access in waiting:
            move(access, Status.FAILED, f"{access.user.username}'s ECR credentials could not "
                                         f"be created: {reason}")
            audit(actor=None, action="repo_access.failed", target=access,
                  project=access.repo.project, detail={"reason": reason})


def access_user_deleted(*, user) -> None:
    """A person is being deleted (their rows cascade): re-write the policies that name
    them once the deletion is committed."""
    from . import tasks

    repo_ids = RepoAccess.objects.filter(user=user).values_list("repo_id", flat=True)
    for repo_id in sorted(set(repo_ids)):
        enqueue_on_commit(tasks.sync_repo_access, repo_id)
    # Before the deletion nulls the actor of their audit events (which find their reveals).
    _rotate_keys_seen_by(user, DELETED)


def access_user_deactivated(*, user) -> None:
    """A person was deactivated (saved with is_active=False): the robot keys they saw are
    rotated. (Deactivated without a save, e.g. by a queryset update: the reconciler's
    robots_rotate_revealed_by_departed catches up.)"""
    _rotate_keys_seen_by(user, DEACTIVATED)


# --- Offboarding: robot keys seen by people who left -------------------------------------
#
# A revealed robot key is a secret the person may have kept: once they leave the project,
# are deactivated or deleted, the hub rotates it (a system rotation, no permission check).
# Only reveals of the robot's current key count: the reveal's audit event names the key
# id, and after a rotation the key is a new one nobody saw. There is no grace period for
# the old key today (rotation deletes it once the new one is stored); a forced rotation
# would skip one if it is ever added.
#
# Only active robots are rotated at once. A robot already rotating gets a new key nobody
# saw, one being removed loses its IAM user; any other (failed, or being created again)
# is rotated by the reconciler's catch-up once it is active, which also covers people
# deactivated or deleted without the signals.

REVEALED = "robot.credentials_revealed"
LEFT_PROJECT, DEACTIVATED, DELETED = "left the project", "was deactivated", "was deleted"
NOT_A_MEMBER = "is no longer a member of the project"  # the catch-up cannot tell when


def _rotate_keys_seen_by(user, why: str, *, robots=None) -> None:
    """Rotate the active robots (of `robots`, default all) whose current key `user`
    revealed; `why` they may no longer hold it."""
    seen: dict[int, set[str]] = {}
    for target_id, detail in AuditEvent.objects.filter(
            action=REVEALED, target_type=RobotAccount._meta.model_name, actor=user
    ).values_list("target_id", "detail"):
        seen.setdefault(int(target_id), set()).add(detail.get("access_key_id"))
    if not seen:
        return
    current = (RobotAccount.objects if robots is None else robots).filter(
        pk__in=seen, status=Status.ACTIVE, repo__delete_requested=False)
    _rotate_seen_keys({pk: (key, user.get_username(), why) for pk, key in
                       current.values_list("pk", "access_key_id") if key in seen[pk]})


def _rotate_seen_keys(seen: dict[int, tuple[str, str, str]]) -> list[RobotAccount]:
    """The system rotation of robots whose key was seen by someone who left: `seen` is
    {robot id: (the key id seen, by whom, why they may no longer hold it)}. The rotation
    path is robot_rotate's (the task creates the new key, stores it, then deletes the old
    one); the reason is on the robot's page while it rotates and after (robot_provision).
    The queries do not grow with the number of robots (one update per reason)."""
    from . import tasks

    if not seen:
        return []
    with transaction.atomic():
        robots = [r for r in RobotAccount.objects.select_for_update(of=("self",))
                  .filter(pk__in=seen, status=Status.ACTIVE).select_related("repo__project")
                  .order_by("pk") if r.access_key_id == seen[r.pk][0]]
        reasons = {r.pk: f"{seen[r.pk][1]}, who had seen it, {seen[r.pk][2]}" for r in robots}
        now = timezone.now()
        for reason in set(reasons.values()):
            RobotAccount.objects.filter(pk__in=[pk for pk, r in reasons.items() if r == reason]
                                        ).update(
                status=Status.PENDING, rotation_requested=True, status_changed_at=now,
                updated_at=now, status_detail=f"Rotating the access key because {reason}; the "
                                              "current one works until the new one is stored.")
        audit_many([{"actor": None, "action": "robot.rotation_requested", "target": robot,
                     "project": robot.repo.project,
                     "detail": {"access_key_id": robot.access_key_id,
                                "seen_by": seen[robot.pk][1], "reason": reasons[robot.pk]}}
                    for robot in robots])
        for robot in robots:
            enqueue_on_commit(tasks.provision_robot, robot.pk)
    return robots


def _rotation_reason(robot: RobotAccount, old_key: str) -> str:
    """Why the hub rotated `old_key` of the robot on its own (see _rotate_seen_keys), or
    "" for a rotation a person asked for."""
    detail = (AuditEvent.objects.filter(action="robot.rotation_requested",
                                        target_type=RobotAccount._meta.model_name,
                                        target_id=str(robot.pk))
              .order_by("-pk").values_list("detail", flat=True).first()) or {}
    return detail.get("reason", "") if detail.get("access_key_id") == old_key else ""


def robots_rotate_revealed_by_departed(report, repo_ids=None, *, page_size: int = 500) -> None:
    """The reconciler's catch-up: rotate every active robot whose current key was revealed
    by someone who is now deactivated, deleted, or no longer a member of the project (and
    not a hub admin), however that happened (a queryset update sends no signal; a rotation
    that failed left the seen key in place). Reads in pages of robots, a fixed number of
    queries each."""
    robots = (RobotAccount.objects.filter(status=Status.ACTIVE, repo__delete_requested=False)
              .exclude(access_key_id="").order_by("pk"))
    if repo_ids is not None:
        robots = robots.filter(repo_id__in=repo_ids)
    last = 0
    while page := list(robots.filter(pk__gt=last).values_list(
            "pk", "access_key_id", "iam_username", "repo__project_id")[:page_size]):
        last = page[-1][0]
        seen = _seen_by_departed(page)
        names = {pk: name for pk, _key, name, _project in page}
        for pk, (_key, seen_by, why) in sorted(seen.items()):
            report.repaired.append(f"{names[pk]}: key seen by {seen_by} who {why}, rotated")
        if not report.dry_run:
            _rotate_seen_keys(seen)


def _seen_by_departed(page) -> dict[int, tuple[str, str, str]]:
    """Of the robots in `page` ((id, key id, IAM user, project id) rows), those whose
    current key someone who left revealed: {robot id: (key id, by whom, why)}."""
    keys = {pk: (key, project_id) for pk, key, _name, project_id in page}
    reveals = [(int(target_id), actor_id, username) for target_id, actor_id, username, detail
               in AuditEvent.objects.filter(
                   action=REVEALED, target_type=RobotAccount._meta.model_name,
                   target_id__in=[str(pk) for pk in keys]
               ).order_by("pk").values_list("target_id", "actor_id", "actor_username", "detail")
               if detail.get("access_key_id") == keys[int(target_id)][0]]
    if not reveals:
        return {}
    actor_ids = {actor_id for _, actor_id, _ in reveals if actor_id is not None}
    people = {pk: (active, staff) for pk, active, staff in get_user_model().objects.filter(
        pk__in=actor_ids).values_list("pk", "is_active", "is_staff")}
    members = set(Membership.objects.filter(
        user_id__in=actor_ids, project_id__in={p for _, p in keys.values()}
    ).values_list("user_id", "project_id"))
    seen = {}
    for robot_id, actor_id, username in reveals:
        key, project_id = keys[robot_id]
        if actor_id not in people:
            why = DELETED  # a reveal always has an actor: a null one was deleted
        elif not people[actor_id][0]:
            why = DEACTIVATED
        elif (actor_id, project_id) not in members and not people[actor_id][1]:
            why = NOT_A_MEMBER
        else:
            continue
        seen.setdefault(robot_id, (key, username, why))
    return seen


# --- Convergence, run by tasks ----------------------------------------------------------


def access_sync(repo_id: int) -> None:
    """Write the repository policy rendered from the access list, then move on exactly the
    entries that policy decided: pending ones it contains become active, removing ones it
    left out are deleted (robots: their IAM user first). Re-writes if the list changed
    while it wrote, so an older document never stays in AWS."""
    repo = (DockerRepo.objects.select_related("project")
            .filter(pk=repo_id, status=Status.ACTIVE).first())
    if repo is None:
        return  # not active (being created again, or deleted): its own task writes it
    for _ in range(SYNC_ROUNDS):
        plan = selectors.repo_policy_plan(repo)
        try:
            document = plan.document()
        except PolicyTooLarge as exc:
            raise AwsPermanentError(str(exc), code="PolicyTooLarge") from None
        ecr.set_repository_policy(repo.full_name, document)
        if selectors.repo_policy_plan(repo) == plan:
            break
    else:
        raise AwsTransientError(f"The access list of {repo.full_name} kept changing while its "
                                "policy was written", code="AccessChanging")
    _record_written(repo, plan)


def _record_written(repo: DockerRepo, plan: selectors.PolicyPlan) -> None:
    from . import tasks

    now = timezone.now()
    with transaction.atomic():
        _lock_repo_id(repo.pk)
        robots = list(RobotAccount.objects.select_for_update(of=("self",)).filter(
            pk__in=plan.robots, status=Status.PENDING, rotation_requested=False,
            removal_requested=False).select_related("repo__project"))
        RobotAccount.objects.filter(pk__in=[r.pk for r in robots]).update(
            status=Status.ACTIVE, status_detail="", status_changed_at=now, updated_at=now)
        for robot in robots:
            audit(actor=None, action="robot.active", target=robot, project=repo.project,
                  detail={"iam_username": robot.iam_username})
        accesses = []
        for writable, ids in ((False, plan.readers), (True, plan.writers)):
            accesses += RepoAccess.objects.select_for_update(of=("self",)).filter(
                pk__in=ids, status=Status.PENDING, writable=writable, removal_requested=False
            ).select_related("user", "repo__project")
        RepoAccess.objects.filter(pk__in=[a.pk for a in accesses]).update(
            status=Status.ACTIVE, status_detail="", status_changed_at=now, updated_at=now)
        for access in accesses:
            audit(actor=None, action="repo_access.active", target=access, project=repo.project,
                  detail={"user": access.user.username, "writable": access.writable})
        removed = list(RepoAccess.objects.select_for_update(of=("self",)).filter(
            pk__in=plan.removing_accesses, status=Status.REMOVING
        ).select_related("user", "repo__project"))
        for access in removed:
            audit(actor=None, action="repo_access.removed", target=access, project=repo.project,
                  detail={"user": access.user.username, "writable": access.writable})
        RepoAccess.objects.filter(pk__in=[a.pk for a in removed]).delete()
        for robot_id in sorted(plan.removing_robots):
            enqueue_on_commit(tasks.destroy_robot, robot_id)


def _sync_targets(repo_id: int):
    """The entries a failing sync was about: those it would have written or removed."""
    repo = DockerRepo.objects.filter(pk=repo_id).first()
    if repo is None:
        return [], []
    plan = selectors.repo_policy_plan(repo)
    robots = RobotAccount.objects.filter(repo_id=repo_id).filter(
        pk__in=[*plan.robots, *plan.removing_robots],
        status__in=[Status.PENDING, Status.REMOVING], rotation_requested=False)
    accesses = RepoAccess.objects.filter(repo_id=repo_id).filter(
        pk__in=[*plan.readers, *plan.writers, *plan.removing_accesses],
        status__in=[Status.PENDING, Status.REMOVING])
    return robots, accesses


def access_note_retrying(repo_id: int, detail: str) -> None:
    robots, accesses = _sync_targets(repo_id)
    with transaction.atomic():
        _lock_repo_id(repo_id)
        for queryset in (robots, accesses):
            queryset.update(status_detail=detail, updated_at=timezone.now())


def access_mark_failed(repo_id: int, reason: str) -> None:
    robots, accesses = _sync_targets(repo_id)
    with transaction.atomic():
        _lock_repo_id(repo_id)
        names = []
        for entry in [*robots.select_for_update(of=("self",)).select_related("repo__project"),
                      *accesses.select_for_update(of=("self",))
                      .select_related("user", "repo__project")]:
            move(entry, Status.FAILED, reason)
            names.append(entry.name if isinstance(entry, RobotAccount) else entry.user.username)
        repo = DockerRepo.objects.select_related("project").filter(pk=repo_id).first()
        if names and repo is not None:
            audit(actor=None, action="docker_repo.access_failed", target=repo,
                  project=repo.project, detail={"reason": reason, "entries": names})


# Robots' IAM users.


def robot_tags(robot: RobotAccount) -> dict[str, str]:
    return {"hub-kind": "robot", "hub-project": robot.repo.project.shortname,
            "hub-repo-id": str(robot.repo_id), "hub-robot": robot.name}


def robot_provision(robot_id: int) -> None:
    """Create the robot's IAM user, login policy and access key (or rotate the key). A new
    robot then waits for the policy sync to name it; a rotated one is active again (and
    its repository's policy is written again if its IAM user had to be recreated: the
    new user has a new unique id, which the old policy does not grant)."""
    with converging_alone(RobotAccount, robot_id):
        _provision_robot(robot_id)


def _provision_robot(robot_id: int) -> None:
    from . import tasks

    robot = (RobotAccount.objects.select_related("repo__project")
             .filter(pk=robot_id, status=Status.PENDING).first())
    if robot is None or robot.repo.delete_requested:
        return
    rotating, old_key = robot.rotation_requested, robot.access_key_id
    converged = converge_credentials(robot, tags=robot_tags(robot))
    if not converged.done:
        _robot_moved_on(robot)
        return
    if not rotating:
        enqueue_on_commit(tasks.sync_repo_access, robot.repo_id)
        return
    reason = _rotation_reason(robot, old_key)  # the page keeps saying why the hub rotated it
    with transaction.atomic():
        moved = RobotAccount.objects.filter(pk=robot.pk, status=Status.PENDING).update(
            status=Status.ACTIVE, status_detail=f"Key rotated because {reason}." if reason else "",
            rotation_requested=False, status_changed_at=timezone.now(), updated_at=timezone.now())
        if moved:
            audit(actor=None, action="robot.rotated", target=robot, project=robot.repo.project,
                  detail={"access_key_id": robot.access_key_id,
                          **({"reason": reason} if reason else {})})
        if converged.user_created:
            enqueue_on_commit(tasks.sync_repo_access, robot.repo_id)


def _robot_moved_on(robot: RobotAccount) -> None:
    """The robot was removed (or its repository deleted) while its IAM user was being
    made: make sure the IAM user does not outlive it."""
    from identities.tasks import delete_iam_user

    from . import tasks

    current = RobotAccount.objects.filter(pk=robot.pk).first()
    if current is None:
        enqueue_on_commit(delete_iam_user, robot.iam_username)
    elif current.status == Status.REMOVING:
        enqueue_on_commit(tasks.sync_repo_access, robot.repo_id)


def robot_destroy(robot_id: int) -> None:
    """Delete the robot's IAM user (keys and policies first), then the row. Enqueued by
    the sync once AWS accepted a policy without the robot."""
    with converging_alone(RobotAccount, robot_id):
        _destroy_robot(robot_id)


def _destroy_robot(robot_id: int) -> None:
    robot = (RobotAccount.objects.select_related("repo__project")
             .filter(pk=robot_id, status=Status.REMOVING).first())
    if robot is None:
        return
    identity_services.iam_user_delete(robot.iam_username)
    with transaction.atomic():
        locked = RobotAccount.objects.select_for_update().filter(
            pk=robot.pk, status=Status.REMOVING).first()
        if locked is None:
            return
        audit(actor=None, action="robot.removed", target=locked, project=robot.repo.project,
              detail={"iam_username": locked.iam_username})
        locked.delete()


def robot_note_retrying(robot_id: int, detail: str) -> None:
    RobotAccount.objects.filter(
        pk=robot_id, status__in=[Status.PENDING, Status.REMOVING]
    ).update(status_detail=detail, updated_at=timezone.now())


def robot_mark_failed(robot_id: int, reason: str) -> None:
    """A robot task gave up. A failed rotation leaves the current key working, so the
    robot goes back to active (with the reason); anything else is failed."""
    with transaction.atomic():
        robot = (RobotAccount.objects.select_for_update(of=("self",))
                 .select_related("repo__project")
                 .filter(pk=robot_id, status__in=[Status.PENDING, Status.REMOVING]).first())
        if robot is None:
            return
        if robot.status == Status.PENDING and robot.rotation_requested and robot.has_key:
            move(robot, Status.ACTIVE, f"Rotating the access key failed: {reason} The current "
                  "key still works; press Rotate to try again.", rotation_requested=False)
            audit(actor=None, action="robot.rotation_failed", target=robot,
                  project=robot.repo.project, detail={"reason": reason})
            return
        doing = "removing" if robot.status == Status.REMOVING else "creating"
        move(robot, Status.FAILED, reason)
        audit(actor=None, action="robot.failed", target=robot, project=robot.repo.project,
              detail={"reason": reason, "while": doing})
