from django.db import models


class Role(models.TextChoices):
    ADMIN = "admin", "Project admin"
    MEMBER = "member", "Member"


class RepoManagement(models.TextChoices):
    MEMBERS = "members", "Every member may request repositories and manage their access"
    ADMINS = "admins", "Only project admins may request repositories and manage access"
