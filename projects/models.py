from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinLengthValidator, RegexValidator
from django.db import models
from django.db.models.functions import Lower

from hub.limits import DESCRIPTION_MAX, description_validators

from .choices import RepoManagement, Role

shortname_validator = RegexValidator(
    r"^[a-z][a-z0-9-]*\Z",
    "Use lowercase letters, digits and hyphens, starting with a letter.",
)
# Shortnames that would collide with the hub's own addresses (/projects/new/).
RESERVED_SHORTNAMES = frozenset({"new"})

service_name_validator = RegexValidator(
    r"^[a-z0-9]+(?:[._-][a-z0-9]+)*\Z",
    "Use lowercase letters and digits, separated by single '.', '_' or '-'.",
)


class Project(models.Model):
    shortname = models.CharField(
        max_length=30,
        unique=True,
        validators=[shortname_validator, MinLengthValidator(2)],
        help_text="2–30 characters: lowercase letters, digits and hyphens, starting with a "
        "letter. It prefixes every repository name and cannot be changed.",
        error_messages={"unique": "A project with this shortname already exists."},
    )
    name = models.CharField(max_length=100)
    description = models.TextField(
        blank=True, max_length=DESCRIPTION_MAX, validators=description_validators()
    )
    repo_management = models.CharField(
        "repository management",
        max_length=10,
        choices=RepoManagement.choices,
        default=RepoManagement.MEMBERS,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="projects"
    )

    class Meta:
        ordering = ["shortname"]

    def __str__(self) -> str:
        return self.shortname

    def clean(self):
        super().clean()
        if self.shortname in RESERVED_SHORTNAMES:
            raise ValidationError(
                {"shortname": f"'{self.shortname}' is reserved by the hub: choose another."}
            )


class Membership(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)
    # Not a column: who is deleting the row, set just before delete() for the receivers of
    # the deletion (projects.signals).
    removed_by: Any = None

    class Meta:
        ordering = ["project", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["project", "user"], name="unique_membership"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.project} ({self.role})"


class Service(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="services")
    name = models.CharField(
        max_length=63,
        validators=[service_name_validator],
        help_text="Lowercase letters and digits, separated by '.', '_' or '-'.",
    )
    description = models.TextField(
        blank=True, max_length=DESCRIPTION_MAX, validators=description_validators()
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["project", "name"]
        constraints = [
            models.UniqueConstraint(
                Lower("name"),
                "project",
                name="unique_service_name_in_project",
                violation_error_message="This project already has a service with this name.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.project.shortname}/{self.name}"
