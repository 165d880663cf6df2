"""What people's identities and robots share: converging an IamCredentials row (its IAM
user, login policy and one access key) and reading its secret for an audited reveal.

The key rules (DESIGN.md, "AWS layout"): IAM allows two access keys per user, so a new key
is created only after deleting the keys the hub does not hold the secret of; the row only
ever stores a key IAM has; rotation creates the new key, stores it, then deletes the old
one, so a failure at any point leaves a working stored key."""

from django.utils import timezone

from hub.aws import AwsTransientError
from hub.choices import Status
from hub.crypto import decrypt, encrypt

from . import iam
from .models import IamCredentials


def secret_of(row: IamCredentials) -> str:
    """The decrypted secret access key. Callers are audited reveals, nothing else."""
    return decrypt(row.secret_access_key_encrypted)


def converge_credentials(row: IamCredentials, *, tags: dict[str, str]) -> bool:
    """Make IAM match `row` (a `pending` row of an IamCredentials model): the user with its
    tags and login policy, and one access key the row holds the secret of (a new one if
    `rotation_requested`). Safe to run again after a crash between any two calls.

    Returns False when the row moved on meanwhile (no longer pending, or rotated by a
    concurrent run); any key this run created has then been deleted again. The caller
    records the outcome (and clears `rotation_requested`)."""
    model = type(row)
    name = row.iam_username
    arn = iam.ensure_user(name, tags=tags)
    iam.put_login_policy(name)
    stored = row.access_key_id
    keys = iam.list_access_keys(name)
    # A key the hub has no secret of is of no use to anyone it serves (a crash between
    # creating and storing it, or made outside the hub), and it would block a new key.
    for key_id in keys:
        if key_id != stored:
            iam.delete_access_key(name, key_id)
    pending = model.objects.filter(pk=row.pk, status=Status.PENDING)
    if stored in keys and not row.rotation_requested:  # nothing to create
        return bool(pending.update(iam_arn=arn, updated_at=timezone.now()))
    new = iam.create_access_key(name)
    now = timezone.now()
    moved = pending.filter(access_key_id=stored).update(
        iam_arn=arn, access_key_id=new.key_id,
        secret_access_key_encrypted=encrypt(new.secret), key_created_at=now, updated_at=now,
    )
    if not moved:
        iam.delete_access_key(name, new.key_id)  # never leave a key nobody holds
        return False
    if new.key_id not in iam.list_access_keys(name):
        # A concurrent run deleted it as unknown before this one stored it: the next
        # attempt sees a stored key IAM lacks and creates another.
        raise AwsTransientError(f"The new access key of {name} vanished from IAM (a "
                                "concurrent run); trying again", code="KeyVanished")
    if stored in keys:
        iam.delete_access_key(name, stored)  # rotation: the old key goes last
    row.iam_arn, row.access_key_id = arn, new.key_id
    return True
