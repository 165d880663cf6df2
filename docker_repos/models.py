import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from hub.choices import FailureKind, Status
from hub.limits import DESCRIPTION_MAX, description_validators
from identities.models import IAM_USERNAME_MAX, IamCredentials, iam_safe
from projects.models import Project, Service

from .choices import TagMutability

# ECR's rule: lowercase alphanumeric components separated by '.', '_', '-' or '/'.
REPO_NAME_RE = re.compile(r"^[a-z0-9]+(?:[._\-/][a-z0-9]+)*\Z")
ECR_NAME_MAX = 256


def validate_repo_name(value: str) -> None:
    if not REPO_NAME_RE.match(value or ""):
        raise ValidationError(
            "Use lowercase letters and digits, separated by single '.', '_', '-' or '/' "
            "(no separator at the start, at the end or twice in a row).",
            code="invalid_name",
        )


class DockerRepo(models.Model):
    """A private ECR repository named `<project.shortname>/<name>`. The row is the desired
    state; Celery tasks converge ECR to it and record the outcome in `status`."""

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="docker_repos")
    # PROTECT: a service (or project) with repositories cannot be deleted, so no ECR
    # repository is ever orphaned.
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="docker_repos")
    name = models.CharField(max_length=ECR_NAME_MAX, validators=[validate_repo_name])
    description = models.TextField(
        blank=True, max_length=DESCRIPTION_MAX, validators=description_validators()
    )
    tag_mutability = models.CharField(
        max_length=9, choices=TagMutability.choices, default=TagMutability.MUTABLE
    )
    scan_on_push = models.BooleanField(default=True)
    keep_last_images = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(10000)],
        help_text="Optional lifecycle rule: keep only the newest N images.",
    )
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    status_detail = models.TextField(blank=True)
    # Why it failed, for code (the reconciler re-sends `gave_up` ones); the status detail
    # says it to people.
    failure_kind = models.CharField(
        max_length=16, choices=FailureKind.choices, blank=True, default=FailureKind.NONE
    )
    # Set once a deletion is requested: retry then resumes the deletion, not the creation.
    delete_requested = models.BooleanField(default=False)
    uri = models.CharField(max_length=512, blank=True)
    arn = models.CharField(max_length=512, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    status_changed_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["project", "name"]
        verbose_name = "Docker repository"
        verbose_name_plural = "Docker repositories"
        constraints = [
            models.UniqueConstraint(
                fields=["project", "name"],
                name="unique_repo_name_in_project",
                violation_error_message="A repository with this name already exists in the "
                "project.",
            ),
        ]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.project.shortname}/{self.name}"

    @property
    def registry(self) -> str:
        """The registry host of `uri` (`<account>.dkr.ecr.<region>.amazonaws.com`); "" until
        ECR has the repository."""
        return self.uri.partition("/")[0]

    @property
    def region(self) -> str:
        """The AWS region of `arn` (`arn:aws:ecr:<region>:<account>:repository/<name>`);
        the hub's own region until ECR has the repository."""
        parts = self.arn.split(":")
        return parts[3] if len(parts) > 5 and parts[3] else settings.AWS_DEFAULT_REGION

    def clean(self) -> None:
        errors = {}
        if self.service_id and self.project_id and self.service.project_id != self.project_id:
            errors["service"] = "This service belongs to another project."
        if self.name and self.project_id and len(self.full_name) > ECR_NAME_MAX:
            errors["name"] = (
                f"The full name '{self.project.shortname}/<name>' must fit ECR's "
                f"{ECR_NAME_MAX}-character limit."
            )
        if errors:
            raise ValidationError(errors)


ROBOT_NAME_RE = re.compile(r"^[a-z][a-z0-9-]*\Z")
ROBOT_PREFIX = "hub-robot-"


def validate_robot_name(value: str) -> None:
    if not ROBOT_NAME_RE.match(value or ""):
        raise ValidationError(
            "Use lowercase letters, digits and hyphens, starting with a letter (e.g. drone-ci).",
            code="invalid_robot_name",
        )


def robot_iam_username(project_shortname: str, repo_name: str, robot_name: str) -> str:
    """`hub-robot-<project>-<repo>-<robot>`; the '/' of a nested repository name (and any
    other character IAM refuses) becomes '-'. May exceed 64 characters: see clean()."""
    return iam_safe(f"{ROBOT_PREFIX}{project_shortname}-{repo_name}-{robot_name}")


class RobotAccount(IamCredentials):
    """A CI robot of one repository: its own IAM user, allowed to pull and push that
    repository only (through the repository policy)."""

    repo = models.ForeignKey(DockerRepo, on_delete=models.CASCADE, related_name="robots")
    name = models.CharField(max_length=IAM_USERNAME_MAX, validators=[validate_robot_name])
    # Set when the robot is to go: a failed removal is retried as a removal.
    removal_requested = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["repo", "name"]
        verbose_name = "robot account"
        constraints = [
            models.UniqueConstraint(
                fields=["repo", "name"],
                name="unique_robot_name_in_repo",
                violation_error_message="This repository already has a "
                "robot account with this name.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.repo.full_name if self.repo_id else '?'} robot {self.name}"

    def clean(self) -> None:
        if self.name and self.repo_id:
            check_robot_name_length(self.repo, self.name)


def robot_name_room(repo: DockerRepo) -> int:
    """The longest robot name this repository allows: its IAM user name,
    hub-robot-<project>-<repo>-<name>, must fit IAM's IAM_USERNAME_MAX characters. The one
    length limit of a robot's name (shorter than the column's)."""
    return IAM_USERNAME_MAX - len(robot_iam_username(repo.project.shortname, repo.name, ""))


def check_robot_name_length(repo: DockerRepo, name: str) -> None:
    room = robot_name_room(repo)
    if len(name) <= room:
        return
    message = (
        f"Use at most {room} characters for a robot account of this repository "
        f"(this name has {len(name)}): its IAM user name, hub-robot-<project>-"
        f"<repository>-<robot>, must fit IAM's {IAM_USERNAME_MAX}."
        if room > 0
        else "This repository's name is too long for robot accounts: IAM user names "
        f"have at most {IAM_USERNAME_MAX} characters."
    )
    raise ValidationError({"name": ValidationError(message, code="robot_name_too_long")})


class RepoAccess(models.Model):
    """A person's access to a repository: pull, or pull and push (`writable`). Granted
    through the repository policy naming their ECR identity."""

    repo = models.ForeignKey(DockerRepo, on_delete=models.CASCADE, related_name="accesses")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="repo_accesses"
    )
    writable = models.BooleanField(default=False, help_text="May push as well as pull.")
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    status_detail = models.TextField(blank=True)
    removal_requested = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    status_changed_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["repo", "user__username"]
        verbose_name = "repository access"
        verbose_name_plural = "repository access"
        constraints = [
            models.UniqueConstraint(fields=["repo", "user"], name="unique_access_per_person"),
        ]

    def __str__(self) -> str:
        mode = "pull+push" if self.writable else "pull"
        return f"{self.user} {mode} {self.repo.full_name if self.repo_id else '?'}"
