from django.db import models


class TagMutability(models.TextChoices):
    MUTABLE = "MUTABLE", "Mutable: a tag can be pushed again"
    IMMUTABLE = "IMMUTABLE", "Immutable: a tag, once pushed, is fixed"
