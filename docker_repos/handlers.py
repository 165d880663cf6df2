"""Reactions to what other apps do: their domain signals and the user model's (connected
in apps.ready). Each receiver makes the change itself, through this app's rows and
offboarding, in the sender's transaction."""

from django.db import transaction

from hub.audit import audit
from hub.choices import Status, move
from hub.tasks import enqueue_on_commit

from . import selectors
from .models import RepoAccess, RobotAccount
from .offboarding import DEACTIVATED, DELETED, LEFT_PROJECT, rotate_keys_seen_by


def member_removed(sender, project, user, actor=None, **kwargs) -> None:
    """projects.signals.member_removed: a person left the project, and their access to
    each of its repositories goes (and the robot keys they saw there are rotated)."""
    with transaction.atomic():
        accesses = (
            RepoAccess.objects.select_for_update(of=("self",))
            .filter(repo__project=project, user=user)
            .exclude(status=Status.REMOVING)
            .select_related("repo")
        )
        repo_ids = set()
        for access in accesses:
            move(access, Status.REMOVING, removal_requested=True)
            audit(
                actor=actor,
                action="repo_access.removal_requested",
                target=access,
                project=project,
                detail={
                    "user": user.username,
                    "repo": access.repo.full_name,
                    "reason": "removed from the project",
                },
            )
            repo_ids.add(access.repo_id)
        for repo_id in sorted(repo_ids):
            enqueue_on_commit("docker_repos.tasks.sync_repo_access", repo_id)
        rotate_keys_seen_by(
            user, LEFT_PROJECT, robots=RobotAccount.objects.filter(repo__project=project)
        )


def ecr_identity_ready(sender, identity, iam_user_created=False, **kwargs) -> None:
    """identities.signals.ecr_identity_ready: a person's IAM user now exists, and the
    repositories waiting for it can name it. One just (re)created (deleted outside the
    hub) has a new unique id, which no policy written before grants: then every
    repository granting the person is written again."""
    statuses = selectors.GRANTED if iam_user_created else [Status.PENDING]
    repo_ids = (
        RepoAccess.objects.filter(user_id=identity.user_id, status__in=statuses)
        .values_list("repo_id", flat=True)
        .distinct()
    )
    for repo_id in sorted(repo_ids):
        enqueue_on_commit("docker_repos.tasks.sync_repo_access", repo_id)


def ecr_identity_failed(sender, identity, reason, **kwargs) -> None:
    """identities.signals.ecr_identity_failed: creating a person's IAM user failed, and
    the access waiting for it fails with the reason (Retry on the access tries the
    identity again)."""
    if identity.iam_arn:
        return  # the IAM user exists: the policy can name it, nothing waits
    with transaction.atomic():
        waiting = (
            RepoAccess.objects.select_for_update(of=("self",))
            .filter(user_id=identity.user_id, status=Status.PENDING)
            .select_related("repo__project", "user")
        )
        for access in waiting:
            move(
                access,
                Status.FAILED,
                f"{access.user.username}'s ECR credentials could not be created: {reason}",
            )
            audit(
                actor=None,
                action="repo_access.failed",
                target=access,
                project=access.repo.project,
                detail={"reason": reason},
            )


def user_deleting(sender, instance, **kwargs) -> None:
    """pre_delete of a user (their rows cascade): the policies that name them are written
    again once the deletion is committed."""
    repo_ids = RepoAccess.objects.filter(user=instance).values_list("repo_id", flat=True)
    for repo_id in sorted(set(repo_ids)):
        enqueue_on_commit("docker_repos.tasks.sync_repo_access", repo_id)
    # Before the deletion nulls the actor of their audit events (which find their reveals).
    rotate_keys_seen_by(instance, DELETED)


def user_saved(sender, instance, created, **kwargs) -> None:
    """post_save of a user: a deactivated account (e.g. unticked "active" in the admin)
    has the robot keys its person saw rotated. (Deactivated without a save, e.g. by a
    queryset update: the reconciler's robots_rotate_revealed_by_departed catches up.)"""
    if not created and not instance.is_active:
        rotate_keys_seen_by(instance, DEACTIVATED)
