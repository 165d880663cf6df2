import hashlib
import re

from django.conf import settings
from django.db import models

from hub.choices import Status

# IAM user names: letters, digits and + = , . @ _ -, at most 64 characters.
IAM_USERNAME_MAX = 64
_IAM_DISALLOWED = re.compile(r"[^A-Za-z0-9+=,.@_-]")
IDENTITY_PREFIX = "hub-user-"


def iam_safe(value: str) -> str:
    """`value` with every character IAM does not allow in a user name replaced by '-'."""
    return _IAM_DISALLOWED.sub("-", value)


def identity_iam_username(username: str, *, hashed: bool = False) -> str:
    """`hub-user-<username>`, within IAM's rules. A username that had to be changed (a
    character IAM refuses, or too long) gets a short hash of the original, so two people
    never end up with the same IAM user; `hashed` forces that form (IAM names are
    case-insensitive, so `Alice` needs it once `alice` exists)."""
    safe = iam_safe(username)
    name = f"{IDENTITY_PREFIX}{safe}"
    if not hashed and safe == username and len(name) <= IAM_USERNAME_MAX:
        return name
    digest = hashlib.sha256(username.encode()).hexdigest()[:8]
    keep = IAM_USERNAME_MAX - len(IDENTITY_PREFIX) - len(digest) - 1
    return f"{IDENTITY_PREFIX}{safe[:keep]}-{digest}"


class ApiToken(models.Model):
    """A personal API token. Only a SHA-256 digest of the token is stored: the token is
    shown once, when created. `prefix` (the first characters, not secret) finds the row
    and lets the owner tell tokens apart."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    digest = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class IamCredentials(models.Model):
    """An IAM user of the hub's own (under the path /platform-hub/) with at most one
    access key the hub knows the secret of. Shared by people (EcrIdentity) and robots
    (docker_repos.RobotAccount).

    The row is the desired state; a task converges IAM to it. `access_key_id` is only ever
    a key IAM has (rotation creates the new key, stores it, then deletes the old one).
    The secret is stored encrypted (hub.crypto) and never leaves this row except through
    an audited reveal: it is not editable, not in forms, not in the admin."""

    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    status_detail = models.TextField(blank=True)
    iam_username = models.CharField("IAM user name", max_length=IAM_USERNAME_MAX, unique=True)
    iam_arn = models.CharField("IAM user ARN", max_length=512, blank=True)
    access_key_id = models.CharField(max_length=128, blank=True)
    secret_access_key_encrypted = models.TextField(blank=True, editable=False)
    key_created_at = models.DateTimeField(null=True, blank=True)
    # Set by a rotation request; the task creates the new key, stores it, clears this flag,
    # then deletes the old key.
    rotation_requested = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    status_changed_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        abstract = True

    @property
    def has_key(self) -> bool:
        return bool(self.access_key_id and self.secret_access_key_encrypted)


class EcrIdentity(IamCredentials):
    """A person's own IAM user (`hub-user-<username>`): one per person, it works for every
    repository of every project they are granted access to."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="ecr_identity"
    )

    class Meta:
        verbose_name = "ECR identity"
        verbose_name_plural = "ECR identities"
        ordering = ["iam_username"]

    def __str__(self) -> str:
        return self.iam_username
