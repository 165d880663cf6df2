"""Who may pull and push a repository: its access list (robot accounts and the people
granted access) as people set it, and the locks every change of it takes.

People and robots are IAM users; what they may do with a repository is its resource
policy, rendered from these rows and written whole (policy_sync.access_sync). An entry
becomes `active` only after AWS accepted a policy containing it, and an entry being
removed is deleted only after AWS accepted a policy without it."""

import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from hub.audit import audit
from hub.choices import Status, move
from hub.exceptions import Conflict, InvalidInput
from hub.tasks import enqueue_on_commit
from identities import services as identity_services
from identities.models import EcrIdentity, identity_iam_username
from projects.models import Membership

from . import selectors
from .models import (
    DockerRepo,
    RepoAccess,
    RobotAccount,
    check_robot_name_length,
    robot_iam_username,
)
from .permissions import require_repo_manager
from .policy import ECR_POLICY_MAX_CHARS, PolicyTooLarge, placeholder_user_arn

# The most robots and people one access list can name. Each is a principal of the
# repository policy, whose ARN costs at least ~50 of the ECR_POLICY_MAX_CHARS (10,240)
# characters ECR allows: a longer list can never fit, so it is refused from its length
# alone, before any per-entry query or lock (the exact size is checked after).
MAX_ACCESS_ENTRIES = ECR_POLICY_MAX_CHARS // 50


# --- Locks -------------------------------------------------------------------------------


def lock_repo(repo: DockerRepo) -> DockerRepo:
    return (
        DockerRepo.objects.select_for_update(of=("self",)).select_related("project").get(pk=repo.pk)
    )


def lock_repo_id(repo_id: int) -> None:
    """Every transaction that changes several of a repository's access rows locks the
    repository's row first (access_set's rule: one change of its access at a time). Without
    it, a policy sync recording its outcome and a concurrent change lock the same rows in
    different orders, and PostgreSQL aborts one of them as a deadlock."""
    list(DockerRepo.objects.select_for_update().filter(pk=repo_id).values_list("pk"))


def lock_active_repo(repo: DockerRepo) -> DockerRepo:
    locked = lock_repo(repo)
    _require_active(locked)
    return locked


def _require_active(locked: DockerRepo) -> None:
    if locked.status != Status.ACTIVE:
        raise Conflict(
            f"Access to {locked.full_name} can be changed once it is active; it is "
            f"{locked.get_status_display().lower()}."
        )


# --- The desired state, from people ------------------------------------------------------


def check_access_list_length(robots, users) -> None:
    """Refuse an access list longer than any repository policy can hold, from the lists'
    lengths alone (constant time, nothing read)."""
    count = sum(len(entries) for entries in (robots, users) if isinstance(entries, list | tuple))
    if count > MAX_ACCESS_ENTRIES:
        message = (
            f"An access list can name at most {MAX_ACCESS_ENTRIES} robots and people "
            f"together (a repository policy holds {ECR_POLICY_MAX_CHARS} characters); "
            f"this one names {count}. Remove some people or robots."
        )
        raise InvalidInput(message, fields={"robots": [message], "users": [message]})


def _parse_robots(robots) -> list[str]:
    if not isinstance(robots, list | tuple):
        raise InvalidInput(
            "robots must be a list of {name}.", fields={"robots": ["Must be a list."]}
        )
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
        raise InvalidInput(
            "users must be a list of {username, writable}.", fields={"users": ["Must be a list."]}
        )
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
            errors.append(
                f"{username}: push (write) access without pull (read) is not "
                "possible; pushing needs pulling."
            )
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
    robot = RobotAccount(
        repo=repo,
        name=name,
        created_by=actor if actor.is_authenticated else None,
        iam_username=robot_iam_username(repo.project.shortname, repo.name, name),
    )
    try:
        # The length first, alone: one limit (the room IAM leaves), not the column's too.
        check_robot_name_length(repo, name)
        robot.full_clean(
            exclude=["iam_username"], validate_unique=False, validate_constraints=False
        )
    except ValidationError as exc:
        messages = exc.message_dict.get("name") or exc.messages
        label = name if len(name) <= 80 else f"{name[:80]}…"
        raise InvalidInput(
            f"Robot account {label}: {messages[0]}",
            fields={"robots": [f"{label}: {m}" for m in messages]},
        ) from None
    clash = (
        RobotAccount.objects.filter(iam_username__iexact=robot.iam_username)
        .select_related("repo__project")
        .first()
    )
    if clash is not None:
        message = (
            f"Robot account {name!r} would have the IAM user name {robot.iam_username}, "
            f"already used by {clash}: choose another name."
        )
        raise InvalidInput(message, fields={"robots": [message]})
    return robot


def _check_policy_size(repo, robots: list[RobotAccount], grants: dict, identities: dict):
    """Render the policy the desired state will need (with stand-in ARNs for IAM users not
    created yet) so an access list ECR cannot hold is refused now, with nothing changed."""
    plan = selectors.PolicyPlan(
        readers={n: _arn_for(u, identities) for n, (u, w) in enumerate(grants.values()) if not w},
        writers={n: _arn_for(u, identities) for n, (u, w) in enumerate(grants.values()) if w},
        robots={n: r.iam_arn or placeholder_user_arn(r.iam_username) for n, r in enumerate(robots)},
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
    name = identity.iam_username if identity is not None else identity_iam_username(user.username)
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
        return any(
            (self.granted, self.changed, self.removed, self.robots_added, self.robots_removed)
        )

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
        return (
            [f"{name} gets {mode}" for name, mode in self.granted]
            + [f"{name} changes from {before} to {after}" for name, before, after in self.changed]
            + [f"{name} loses {mode}" for name, mode in self.removed]
            + [f"robot account {name} is added" for name in self.robots_added]
            + [f"robot account {name} is removed" for name in self.robots_removed]
        )


class AccessChangedSinceReview(Conflict):
    """The access list moved on between the summary a person confirmed and the save."""

    def __init__(self, changes: AccessChanges):
        super().__init__(
            "The access list changed since you reviewed it: check the changes again before saving."
        )
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


def _plan_access(
    *, actor, repo: DockerRepo, wanted_robots: list[str], wanted_users: dict[str, bool]
) -> _AccessPlan:
    """Lock the repository and validate the desired list against it: every refusal is
    raised here, before anything is written. Call inside a transaction."""
    repo = lock_repo(repo)  # one change of a repository's access at a time
    require_repo_manager(actor, repo.project)
    _require_active(repo)
    current_robots = {r.name: r for r in RobotAccount.objects.select_for_update().filter(repo=repo)}
    current_access = {
        a.user.username: a
        for a in RepoAccess.objects.select_for_update(of=("self",))
        .filter(repo=repo)
        .select_related("user")
    }
    members = {
        m.user.username: m.user
        for m in Membership.objects.filter(project=repo.project).select_related("user")
    }

    strangers = [u for u in wanted_users if u not in members]
    if strangers:
        message = (
            f"Not a member of {repo.project.shortname}: {', '.join(strangers)}. "
            "Only project members can be given access."
        )
        raise InvalidInput(message, fields={"users": [message]})
    grants = {name: (members[name], writable) for name, writable in wanted_users.items()}

    def leaving(access: RepoAccess) -> bool:
        return access.status == Status.REMOVING or access.removal_requested

    changed_users = {
        name
        for name, (user, writable) in grants.items()
        if name not in current_access
        or current_access[name].writable != writable
        or leaving(current_access[name])
    }
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
            raise Conflict(
                f"Robot account {name} is being removed: add it again once it "
                "is gone (or retry its removal if it failed).",
                fields={"robots": [f"{name} is being removed."]},
            )
    identities = {
        i.user_id: i
        for i in EcrIdentity.objects.filter(user__in=[user for user, _ in grants.values()])
    }
    kept_robots = [r for n, r in current_robots.items() if n in wanted_robots]
    _check_policy_size(repo, [*kept_robots, *new_robots], grants, identities)

    removed_robots = [
        robot
        for name, robot in sorted(current_robots.items())
        if name not in wanted_robots and not robot.removal_requested
    ]
    removed_access = [
        access
        for name, access in sorted(current_access.items())
        if name not in grants and not access.removal_requested
    ]
    granted, changed = [], []
    for name in sorted(changed_users):
        access, writable = current_access.get(name), grants[name][1]
        if access is None or leaving(access):
            granted.append((name, _mode(writable)))
        else:
            changed.append((name, _mode(access.writable), _mode(writable)))
    changes = AccessChanges(
        granted=tuple(granted),
        changed=tuple(changed),
        removed=tuple((a.user.username, _mode(a.writable)) for a in removed_access),
        robots_added=tuple(r.name for r in new_robots),
        robots_removed=tuple(r.name for r in removed_robots),
    )
    return _AccessPlan(
        repo=repo,
        changes=changes,
        new_robots=new_robots,
        removed_robots=removed_robots,
        grants={n: grants[n] for n in sorted(changed_users)},
        removed_access=removed_access,
        current_access=current_access,
        identities=identities,
    )


def access_preview(
    *, actor, repo: DockerRepo, robots: list[dict], users: list[dict]
) -> AccessChanges:
    """What `access_set` with these lists would change, validated the same way (the same
    refusals), with nothing written."""
    wanted_robots, wanted_users = _parse_access_list(robots, users)
    with transaction.atomic():
        return _plan_access(
            actor=actor, repo=repo, wanted_robots=wanted_robots, wanted_users=wanted_users
        ).changes


def access_set(
    *, actor, repo: DockerRepo, robots: list[dict], users: list[dict], reviewed: str | None = None
) -> AccessChanges:
    """Make the repository's access list exactly `robots` ([{"name"}]) and `users`
    ([{"username", "writable"}]): new entries become pending, missing ones removing,
    changed ones pending again. One policy sync is enqueued, plus the creation of the IAM
    users that do not exist yet. On any error nothing changes.

    `reviewed`: the fingerprint of the changes a person confirmed (access_preview); if
    the list would now change anything else, AccessChangedSinceReview and nothing is
    saved."""
    wanted_robots, wanted_users = _parse_access_list(robots, users)
    with transaction.atomic():
        plan = _plan_access(
            actor=actor, repo=repo, wanted_robots=wanted_robots, wanted_users=wanted_users
        )
        repo, changes = plan.repo, plan.changes
        if reviewed is not None and reviewed != changes.fingerprint:
            raise AccessChangedSinceReview(changes)

        # Robots.
        for robot in plan.new_robots:
            robot.save()
            enqueue_on_commit("docker_repos.tasks.provision_robot", robot.pk)
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
        audit(
            actor=actor,
            action="docker_repo.access_changed",
            target=repo,
            project=repo.project,
            detail={
                "robots_added": list(changes.robots_added),
                "robots_removed": list(changes.robots_removed),
                "users_granted": granted,
                "users_removed": [name for name, _ in changes.removed],
            },
        )
        enqueue_on_commit("docker_repos.tasks.sync_repo_access", repo.pk)
    return changes


def _ensure_identity(user, identity: EcrIdentity | None, *, actor) -> None:
    """A person granted access needs an ECR identity: created if they have none, tried
    again if creating it failed."""
    if identity is None:
        identity_services.ecr_identity_request(user=user, actor=actor)
    elif identity.status == Status.FAILED and not identity.iam_arn and user.is_active:
        identity_services.ecr_identity_retry(user=user, actor=actor)


def access_retry(*, actor, access: RepoAccess) -> RepoAccess:
    require_repo_manager(actor, access.repo.project)
    with transaction.atomic():
        lock_active_repo(access.repo)
        locked = (
            RepoAccess.objects.select_for_update(of=("self",))
            .select_related("repo__project", "user")
            .get(pk=access.pk)
        )
        if locked.status != Status.FAILED:
            raise Conflict(
                f"Only failed access can be retried; {locked.user.username}'s is "
                f"{locked.get_status_display().lower()}."
            )
        move(locked, Status.REMOVING if locked.removal_requested else Status.PENDING)
        if not locked.removal_requested:
            _ensure_identity(
                locked.user, EcrIdentity.objects.filter(user=locked.user).first(), actor=actor
            )
        audit(
            actor=actor,
            action="repo_access.retried",
            target=locked,
            project=locked.repo.project,
            detail={"user": locked.user.username, "status": locked.status},
        )
        enqueue_on_commit("docker_repos.tasks.sync_repo_access", locked.repo_id)
    return locked


def access_enqueue_pending(*, repo: DockerRepo) -> None:
    """Send the tasks that move the repository's access entries out of their transitional
    states (the reconciler, for entries stuck after a lost message; a repository active
    again)."""
    robots, accesses = selectors.repo_access_state(repo)
    for robot in robots:
        if robot.status == Status.PENDING and (robot.rotation_requested or not robot.iam_arn):
            enqueue_on_commit("docker_repos.tasks.provision_robot", robot.pk)
    if selectors.access_in_flight(robots, accesses):
        enqueue_on_commit("docker_repos.tasks.sync_repo_access", repo.pk)


def access_requeue_stuck(*, repo: DockerRepo, cutoff, now) -> None:
    """Re-send the tasks of the repository's entries stuck since before `cutoff`, touching
    them (`now`) so the next reconciler pass waits another threshold."""
    stuck_robots, stuck_accesses = selectors.access_stuck_before(cutoff)
    with transaction.atomic():
        stuck_robots.filter(repo=repo).update(updated_at=now)
        stuck_accesses.filter(repo=repo).update(updated_at=now)
        access_enqueue_pending(repo=repo)
