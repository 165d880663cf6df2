"""What people's identities and robots share: converging an IamCredentials row (its IAM
user, login policy and one access key) and reading its secret for an audited reveal.

The key rules (DESIGN.md, "AWS layout"): IAM allows two access keys per user, so a new key
is created only after deleting the keys the hub does not hold the secret of; the row only
ever stores a key IAM has; rotation creates the new key, stores it, then deletes the old
one, so a failure at any point leaves a working stored key.

One row is converged by one run at a time (`converging_alone`): two runs on the same row
(a re-send and a recreation, both queued) would each trust their own snapshot of the
stored key and delete the key the other stored."""

import fcntl
import os
import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.db.backends.sqlite3.creation import DatabaseCreation as SqliteCreation
from django.utils import timezone

from hub.aws import AwsTransientError
from hub.choices import Status
from hub.crypto import decrypt, encrypt

from . import iam
from .models import IamCredentials


def secret_of(row: IamCredentials) -> str:
    """The decrypted secret access key. Callers are audited reveals, nothing else."""
    return decrypt(row.secret_access_key_encrypted)


# SQLite (`make run`, the tests' default) lives on one machine: a file lock under VAR_DIR
# holds across the worker's processes and threads there (flock locks conflict between any
# two open() of the file). Rows share one of LOCK_FILES files: at worst a needless retry.
LOCK_FILES = 1024


def _busy(model, pk: int) -> AwsTransientError:
    return AwsTransientError(
        f"Another task is working on the credentials of "
        f"{model._meta.verbose_name} {pk}; trying again",
        code="ConvergenceBusy",
    )


@contextmanager
def converging_alone(model, pk: int):
    """Hold the right to converge row `pk` of `model` (an IamCredentials model) for the
    block. Take it BEFORE reading the row, so the row read inside is never a snapshot
    another run is about to change.

    If another run holds it, AwsTransientError is raised at once (the task retries with
    backoff) rather than waiting: a waiting worker would hold its slot and connection for
    as long as the other run's AWS calls take, and the retry usually finds the row no
    longer pending and ends at once.

    On PostgreSQL a session-level advisory lock (two-int key space: the model's class id
    and the pk; the reconciler's single-bigint lock cannot collide with it) makes this hold
    across processes; it is released in `finally`, or by the server if the connection dies.
    A pk beyond 2**31 shares a key with another row: at worst a needless retry."""
    lock = _advisory_lock if connection.vendor == "postgresql" else _file_lock
    with lock(model, pk):
        yield


def _scope(model) -> str:
    """What a lock is about: rows of this model in this database. Several databases may
    share a PostgreSQL server or a VAR_DIR (two hubs, parallel test workers); an in-memory
    SQLite database belongs to its process alone."""
    name = str(connection.settings_dict["NAME"])
    if connection.vendor == "sqlite" and SqliteCreation.is_in_memory_db(name):
        name += f"@{os.getpid()}"
    return f"{name}/{model._meta.label_lower}"


@contextmanager
def _advisory_lock(model, pk: int):
    key = [zlib.crc32(_scope(model).encode()) & 0x7FFFFFFF, pk % 2**31]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", key)
        if not cursor.fetchone()[0]:
            raise _busy(model, pk)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", key)


def lock_path(model, pk: int) -> Path:
    scope = zlib.crc32(_scope(model).encode())
    return (
        Path(settings.VAR_DIR)
        / "locks"
        / f"{model._meta.label_lower}-{scope:08x}-{pk % LOCK_FILES}.lock"
    )


@contextmanager
def _file_lock(model, pk: int):
    path = lock_path(model, pk)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise _busy(model, pk) from None
        yield
    finally:
        os.close(fd)  # releases the lock


@dataclass(frozen=True)
class Converged:
    done: bool  # False: the row moved on meanwhile (see converge_credentials)
    user_created: bool  # this run created the IAM user (first time, or after a deletion)


def converge_credentials(row: IamCredentials, *, tags: dict[str, str]) -> Converged:
    """Make IAM match `row` (a `pending` row of an IamCredentials model): the user with its
    tags and login policy, and one access key the row holds the secret of (a new one if
    `rotation_requested`). Safe to run again after a crash between any two calls.

    Not `done` when the row moved on meanwhile (no longer pending, or rotated by a
    concurrent run); any key this run created has then been deleted again. The caller
    holds `converging_alone` for the row, read it inside, and records the outcome (and
    clears `rotation_requested`)."""
    model = type(row)  # EcrIdentity or RobotAccount (IamCredentials is abstract)
    name = row.iam_username
    user = iam.ensure_user(name, tags=tags)
    arn = user.arn
    iam.put_login_policy(name)
    stored = row.access_key_id
    keys = iam.list_access_keys(name)
    # A key the hub has no secret of is of no use to anyone it serves (a crash between
    # creating and storing it, or made outside the hub), and it would block a new key.
    for key_id in keys:
        if key_id != stored:
            iam.delete_access_key(name, key_id)
    pending = model._default_manager.filter(pk=row.pk, status=Status.PENDING)
    if stored in keys and not row.rotation_requested:  # nothing to create
        return Converged(bool(pending.update(iam_arn=arn, updated_at=timezone.now())), user.created)
    new = iam.create_access_key(name)
    now = timezone.now()
    moved = pending.filter(access_key_id=stored).update(
        iam_arn=arn,
        access_key_id=new.key_id,
        secret_access_key_encrypted=encrypt(new.secret),
        key_created_at=now,
        updated_at=now,
    )
    if not moved:
        iam.delete_access_key(name, new.key_id)  # never leave a key nobody holds
        return Converged(False, user.created)
    if new.key_id not in iam.list_access_keys(name):
        # A concurrent run deleted it as unknown before this one stored it: the next
        # attempt sees a stored key IAM lacks and creates another.
        raise AwsTransientError(
            f"The new access key of {name} vanished from IAM (a concurrent run); trying again",
            code="KeyVanished",
        )
    if stored in keys:
        iam.delete_access_key(name, stored)  # rotation: the old key goes last
    row.iam_arn, row.access_key_id = arn, new.key_id
    return Converged(True, user.created)
