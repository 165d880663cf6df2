from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from hub.audit import audit
from hub.choices import Status, move, move_where
from hub.exceptions import Conflict, InvalidInput, NotFound
from hub.tasks import enqueue_on_commit
from hub.transitions import (
    credentials_mark_failed,
    credentials_note_retrying,
    credentials_recreate,
    credentials_rotate,
)

from . import iam, tokens
from .credentials import converge_credentials, converging_alone, secret_of
from .models import ApiToken, EcrIdentity, identity_iam_username
from .signals import ecr_identity_failed, ecr_identity_ready

PROVISION_IDENTITY = "identities.tasks.provision_identity"
DISABLE_IDENTITY_KEYS = "identities.tasks.disable_identity_keys"
DELETE_IAM_USER = "identities.tasks.delete_iam_user"

# last_used_at is written at most this often per token, not on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def api_token_create(*, user, name: str) -> tuple[ApiToken, str]:
    """Create a token for `user`; returns the row and the token itself (shown once)."""
    name = (name or "").strip()
    if not name:
        raise InvalidInput("Give the token a name.", fields={"name": ["Required."]})
    if len(name) > 100:
        raise InvalidInput("The name is too long.", fields={"name": ["At most 100 characters."]})
    if "\x00" in name:  # PostgreSQL refuses it in a text column: a server error otherwise
        raise InvalidInput(
            "The name cannot contain NUL characters.",
            fields={"name": ["Null characters are not allowed."]},
        )
    token, prefix, digest = tokens.generate()
    with transaction.atomic():
        api_token = ApiToken.objects.create(user=user, name=name, prefix=prefix, digest=digest)
        audit(actor=user, action="api_token.created", target=api_token, detail={"name": name})
    return api_token, token


def api_token_revoke(*, user, token_id: int, actor=None) -> ApiToken:
    """Revoke one of `user`'s tokens, for good (nothing clears `revoked_at`). The one way a
    token is revoked, audited: by its owner, or by `actor` (a hub admin in the admin)."""
    actor = actor or user
    with transaction.atomic():
        api_token = (
            ApiToken.objects.select_for_update()
            .filter(pk=token_id, user=user, revoked_at__isnull=True)
            .first()
        )
        if api_token is None:
            raise NotFound("No such token.")
        api_token.revoked_at = timezone.now()
        api_token.save(update_fields=["revoked_at"])
        detail = {"name": api_token.name}
        if actor != user:
            detail["owner"] = user.get_username()
        audit(actor=actor, action="api_token.revoked", target=api_token, detail=detail)
    return api_token


def api_token_authenticate(token: str):
    """The active user a token belongs to, or None."""
    prefix = tokens.parse_prefix(token)
    if prefix is None:
        return None
    api_token = (
        ApiToken.objects.select_related("user")
        .filter(prefix=prefix, revoked_at__isnull=True)
        .first()
    )
    if api_token is None or not tokens.matches(token, api_token.digest):
        return None
    if not api_token.user.is_active:
        return None
    now = timezone.now()
    if api_token.last_used_at is None or now - api_token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=api_token.pk).update(last_used_at=now)
    return api_token.user


# --- ECR identities (Connected Identities) ----------------------------------------------

DEACTIVATED_DETAIL = (
    "The account was deactivated, so its access keys were deleted. Once "
    "it is active again, press Retry to create new ones."
)


def _free_iam_username(username: str) -> str:
    name = identity_iam_username(username)
    # IAM user names are unique regardless of case: `Alice` must not collide with `alice`.
    if EcrIdentity.objects.filter(iam_username__iexact=name).exists():
        name = identity_iam_username(username, hashed=True)
    return name


def ecr_identity_request(*, user, actor=None) -> EcrIdentity:
    """The person's ECR identity, created (and its IAM user requested) if they have none.
    `actor` is who asked, when not the person themselves (a repo manager granting access)."""
    actor = actor or user
    if not user.is_active:
        raise Conflict(f"{user.username}'s account is deactivated: no credentials are created.")
    existing = EcrIdentity.objects.filter(user=user).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            identity = EcrIdentity.objects.create(
                user=user, iam_username=_free_iam_username(user.username)
            )
            audit(
                actor=actor,
                action="ecr_identity.requested",
                target=identity,
                detail={"user": user.username, "iam_username": identity.iam_username},
            )
            enqueue_on_commit(PROVISION_IDENTITY, identity.pk)
    except IntegrityError:
        # Requested a moment earlier (a double click, or a grant at the same time).
        return EcrIdentity.objects.get(user=user)
    return identity


def _own_identity(user, *, lock: bool = False) -> EcrIdentity:
    identities = EcrIdentity.objects.select_for_update() if lock else EcrIdentity.objects
    identity = identities.filter(user=user).first() if user.is_authenticated else None
    if identity is None:
        raise NotFound("You have no ECR credentials yet: create them first.")
    return identity


def ecr_identity_reveal(*, user) -> tuple[str, str]:
    """The owner's access key id and secret. Only ever the caller's own; audited."""
    identity = _own_identity(user)
    if identity.status != Status.ACTIVE or not identity.has_key:
        raise Conflict(
            f"Your credentials are not active yet ({identity.get_status_display().lower()})."
        )
    with transaction.atomic():
        audit(
            actor=user,
            action="ecr_identity.credentials_revealed",
            target=identity,
            detail={"access_key_id": identity.access_key_id},
        )
    return identity.access_key_id, secret_of(identity)


def ecr_identity_rotate(*, user) -> EcrIdentity:
    """Replace the owner's access key: the new one is created and stored before the old
    one is deleted."""
    with transaction.atomic():
        identity = _own_identity(user, lock=True)
        credentials_rotate(
            identity,
            actor=user,
            action_prefix="ecr_identity",
            task_name=PROVISION_IDENTITY,
            not_active="Only active credentials can be rotated; yours are {status}.",
        )
    return identity


def ecr_identity_retry(*, user, actor=None) -> EcrIdentity:
    """Try a failed identity again: create its credentials, or (for a deactivated account)
    delete its keys again."""
    actor = actor or user
    with transaction.atomic():
        identity = _own_identity(user, lock=True)
        if identity.status != Status.FAILED:
            raise Conflict(
                "Only failed credentials can be retried; yours are "
                f"{identity.get_status_display().lower()}."
            )
        if user.is_active:
            move(identity, Status.PENDING, "")
            enqueue_on_commit(PROVISION_IDENTITY, identity.pk)
        else:
            move(identity, Status.REMOVING, "")
            enqueue_on_commit(DISABLE_IDENTITY_KEYS, identity.pk)
        audit(
            actor=actor,
            action="ecr_identity.retried",
            target=identity,
            detail={"status": identity.status},
        )
    return identity


def ecr_identity_deactivate(*, user) -> None:
    """The account was deactivated: its access keys are deleted in IAM (the IAM user stays,
    so repository policies that name it stay valid)."""
    with transaction.atomic():
        identity = EcrIdentity.objects.select_for_update().filter(user=user).first()
        if identity is None or identity.status == Status.REMOVING:
            return
        if identity.status == Status.FAILED and not identity.access_key_id:
            return  # no key to delete (already done, or never created)
        move(
            identity,
            Status.REMOVING,
            "Deleting the access keys: the account was deactivated.",
            rotation_requested=False,
        )
        audit(
            actor=None,
            action="ecr_identity.deactivation_requested",
            target=identity,
            detail={"user": user.username},
        )
        enqueue_on_commit(DISABLE_IDENTITY_KEYS, identity.pk)


def ecr_identity_enqueue_pending(*, identity: EcrIdentity) -> None:
    """Send the task that moves an identity out of its transitional state (reconciler)."""
    enqueue_on_commit(
        DISABLE_IDENTITY_KEYS if identity.status == Status.REMOVING else PROVISION_IDENTITY,
        identity.pk,
    )


def ecr_identity_requeue_stuck(*, identity: EcrIdentity, now) -> bool:
    """The reconciler's re-send of an identity stuck in its transitional state: touched
    (`now`), so the next pass waits again, and its task sent again. False if the row
    changed since it was read."""
    with transaction.atomic():
        moved = EcrIdentity.objects.filter(
            pk=identity.pk, status=identity.status, updated_at=identity.updated_at
        ).update(updated_at=now)
        if moved:
            ecr_identity_enqueue_pending(identity=identity)
    return bool(moved)


def ecr_identity_recreate_credentials(identity: EcrIdentity, missing: str) -> bool:
    """The reconciler found the person's IAM user or access key deleted outside the hub:
    both come back through the identity's task, with a new key."""
    return credentials_recreate(
        identity, missing, action_prefix="ecr_identity", task_name=PROVISION_IDENTITY
    )


# --- Convergence, run by tasks ----------------------------------------------------------


def identity_tags(identity: EcrIdentity) -> dict[str, str]:
    return {"hub-kind": "person", "hub-username": identity.user.username[:256]}


def ecr_identity_provision(identity_id: int) -> None:
    """Create the person's IAM user, login policy and access key (or rotate the key)."""
    with converging_alone(EcrIdentity, identity_id):
        _provision_identity(identity_id)


def _provision_identity(identity_id: int) -> None:
    identity = (
        EcrIdentity.objects.select_related("user")
        .filter(pk=identity_id, status=Status.PENDING)
        .first()
    )
    if identity is None:
        return
    if not identity.user.is_active:
        ecr_identity_mark_failed(
            identity_id, "The account is deactivated: no credentials are created."
        )
        return
    converged = converge_credentials(identity, tags=identity_tags(identity))
    if not converged.done:
        return
    rotated = identity.rotation_requested
    with transaction.atomic():
        moved = move_where(
            EcrIdentity.objects.filter(pk=identity.pk, status=Status.PENDING),
            Status.ACTIVE,
            rotation_requested=False,
        )
        if not moved:
            return
        identity.refresh_from_db()
        audit(
            actor=None,
            action="ecr_identity.rotated" if rotated else "ecr_identity.active",
            target=identity,
            detail={"access_key_id": identity.access_key_id, "iam_username": identity.iam_username},
        )
        ecr_identity_ready.send(
            sender=EcrIdentity, identity=identity, iam_user_created=converged.user_created
        )


def ecr_identity_disable_keys(identity_id: int) -> None:
    with converging_alone(EcrIdentity, identity_id):
        _disable_identity_keys(identity_id)


def _disable_identity_keys(identity_id: int) -> None:
    identity = EcrIdentity.objects.filter(pk=identity_id, status=Status.REMOVING).first()
    if identity is None:
        return
    deleted = iam.delete_all_access_keys(identity.iam_username)
    with transaction.atomic():
        moved = move_where(
            EcrIdentity.objects.filter(pk=identity.pk, status=Status.REMOVING),
            Status.FAILED,
            DEACTIVATED_DETAIL,
            access_key_id="",
            secret_access_key_encrypted="",
            key_created_at=None,
            rotation_requested=False,
        )
        if moved:
            audit(
                actor=None,
                action="ecr_identity.keys_deleted",
                target=identity,
                detail={"access_key_ids": deleted, "reason": "account deactivated"},
            )


def ecr_identity_delete_stray_keys(identity_id: int) -> list[str]:
    """A deactivated person whose row holds no key still has access keys in IAM (made
    outside the hub, or left by a crash): delete them. Returns the ids deleted (the
    reconciler's part of "a deactivated account has no working key")."""
    with converging_alone(EcrIdentity, identity_id):
        identity = EcrIdentity.objects.filter(
            pk=identity_id, status=Status.FAILED, access_key_id=""
        ).first()
        if identity is None:
            return []
        deleted = iam.delete_all_access_keys(identity.iam_username)
        if deleted:
            audit(
                actor=None,
                action="ecr_identity.keys_deleted",
                target=identity,
                detail={
                    "access_key_ids": deleted,
                    "reason": "account deactivated; keys the hub did not hold",
                },
            )
        return deleted


def ecr_identity_note_retrying(identity_id: int, detail: str) -> None:
    credentials_note_retrying(EcrIdentity.objects.filter(pk=identity_id), detail)


def ecr_identity_mark_failed(identity_id: int, reason: str, kind: str = "") -> None:
    """A task gave up (a failed rotation leaves the current key working: see
    hub.transitions). Failed while creating: the access waiting for it fails too
    (ecr_identity_failed). Only repositories are re-sent on their own: `kind` is not
    stored."""
    with transaction.atomic():
        outcome = credentials_mark_failed(
            EcrIdentity.objects.filter(pk=identity_id),
            reason,
            action_prefix="ecr_identity",
            removing="deleting keys",
        )
        if outcome is not None and outcome[1] == "creating":
            ecr_identity_failed.send(sender=EcrIdentity, identity=outcome[0], reason=reason)


def iam_user_delete(name: str) -> None:
    """Delete an IAM user of the hub whose row is gone (keys and policies first)."""
    iam.delete_user(name)


def iam_user_delete_on_commit(name: str) -> None:
    """Delete a hub IAM user whose row is gone, by a task once the transaction commits."""
    enqueue_on_commit(DELETE_IAM_USER, name)
