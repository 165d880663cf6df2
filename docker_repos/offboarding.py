"""Robot keys seen by people who left.

A revealed robot key is a secret the person may have kept: once they leave the project,
are deactivated or deleted, the hub rotates it (a system rotation, no permission check).
Only reveals of the robot's current key count: the reveal's audit event names the key
id, and after a rotation the key is a new one nobody saw. There is no grace period for
the old key today (rotation deletes it once the new one is stored); a forced rotation
would skip one if it is ever added.

Only active robots are rotated at once. A robot already rotating gets a new key nobody
saw, one being removed loses its IAM user; any other (failed, or being created again)
is rotated by the reconciler's catch-up once it is active, which also covers people
deactivated or deleted without the signals."""

from django.contrib.auth import get_user_model
from django.db import transaction

from hub.audit import audit_many
from hub.choices import Status, move_where
from hub.models import AuditEvent
from hub.tasks import enqueue_on_commit
from projects.models import Membership

from .models import RobotAccount

REVEALED = "robot.credentials_revealed"
LEFT_PROJECT, DEACTIVATED, DELETED = "left the project", "was deactivated", "was deleted"
NOT_A_MEMBER = "is no longer a member of the project"  # the catch-up cannot tell when


def rotate_keys_seen_by(user, why: str, *, robots=None) -> None:
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
        pk__in=seen, status=Status.ACTIVE, repo__delete_requested=False
    )
    rotate_seen_keys(
        {
            pk: (key, user.get_username(), why)
            for pk, key in current.values_list("pk", "access_key_id")
            if key in seen[pk]
        }
    )


def rotate_seen_keys(seen: dict[int, tuple[str, str, str]]) -> list[RobotAccount]:
    """The system rotation of robots whose key was seen by someone who left: `seen` is
    {robot id: (the key id seen, by whom, why they may no longer hold it)}. The rotation
    path is robot_rotate's (the task creates the new key, stores it, then deletes the old
    one); the reason is on the robot's page while it rotates and after
    (robots.rotation_reason). The queries do not grow with the number of robots (one
    update per reason)."""
    if not seen:
        return []
    with transaction.atomic():
        robots = [
            r
            for r in RobotAccount.objects.select_for_update(of=("self",))
            .filter(pk__in=seen, status=Status.ACTIVE)
            .select_related("repo__project")
            .order_by("pk")
            if r.access_key_id == seen[r.pk][0]
        ]
        reasons = {r.pk: f"{seen[r.pk][1]}, who had seen it, {seen[r.pk][2]}" for r in robots}
        for reason in set(reasons.values()):
            move_where(
                RobotAccount.objects.filter(
                    pk__in=[pk for pk, r in reasons.items() if r == reason]
                ),
                Status.PENDING,
                f"Rotating the access key because {reason}; the current one works until the "
                "new one is stored.",
                rotation_requested=True,
            )
        audit_many(
            [
                {
                    "actor": None,
                    "action": "robot.rotation_requested",
                    "target": robot,
                    "project": robot.repo.project,
                    "detail": {
                        "access_key_id": robot.access_key_id,
                        "seen_by": seen[robot.pk][1],
                        "reason": reasons[robot.pk],
                    },
                }
                for robot in robots
            ]
        )
        for robot in robots:
            enqueue_on_commit("docker_repos.tasks.provision_robot", robot.pk)
    return robots


def robots_rotate_revealed_by_departed(report, repo_ids=None, *, page_size: int = 500) -> None:
    """The reconciler's catch-up: rotate every active robot whose current key was revealed
    by someone who is now deactivated, deleted, or no longer a member of the project (and
    not a hub admin), however that happened (a queryset update sends no signal; a rotation
    that failed left the seen key in place). Reads in pages of robots, a fixed number of
    queries each."""
    robots = (
        RobotAccount.objects.filter(status=Status.ACTIVE, repo__delete_requested=False)
        .exclude(access_key_id="")
        .order_by("pk")
    )
    if repo_ids is not None:
        robots = robots.filter(repo_id__in=repo_ids)
    last = 0
    while page := list(
        robots.filter(pk__gt=last).values_list(
            "pk", "access_key_id", "iam_username", "repo__project_id"
        )[:page_size]
    ):
        last = page[-1][0]
        seen = _seen_by_departed(page)
        names = {pk: name for pk, _key, name, _project in page}
        for pk, (_key, seen_by, why) in sorted(seen.items()):
            report.repaired.append(f"{names[pk]}: key seen by {seen_by} who {why}, rotated")
        if not report.dry_run:
            rotate_seen_keys(seen)


def _seen_by_departed(page) -> dict[int, tuple[str, str, str]]:
    """Of the robots in `page` ((id, key id, IAM user, project id) rows), those whose
    current key someone who left revealed: {robot id: (key id, by whom, why)}."""
    keys = {pk: (key, project_id) for pk, key, _name, project_id in page}
    reveals = [
        (int(target_id), actor_id, username)
        for target_id, actor_id, username, detail in AuditEvent.objects.filter(
            action=REVEALED,
            target_type=RobotAccount._meta.model_name,
            target_id__in=[str(pk) for pk in keys],
        )
        .order_by("pk")
        .values_list("target_id", "actor_id", "actor_username", "detail")
        if detail.get("access_key_id") == keys[int(target_id)][0]
    ]
    if not reveals:
        return {}
    actor_ids = {actor_id for _, actor_id, _ in reveals if actor_id is not None}
    people = {
        pk: (active, staff)
        for pk, active, staff in get_user_model()
        .objects.filter(pk__in=actor_ids)
        .values_list("pk", "is_active", "is_staff")
    }
    members = set(
        Membership.objects.filter(
            user_id__in=actor_ids, project_id__in={p for _, p in keys.values()}
        ).values_list("user_id", "project_id")
    )
    seen: dict[int, tuple[str, str, str]] = {}
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
