"""Length limits of what people type, in one place: the models validate them (full_clean,
which the services run, so the UI and the API refuse alike), the forms render them as
`maxlength`, and the API serializers check them first with the same validator (the same
message)."""

from django.core.validators import MaxLengthValidator

# Descriptions of projects, services and repositories: a sentence or a short paragraph
# (20,000 characters were accepted, and a long unbroken one pushed buttons off-screen).
DESCRIPTION_MAX = 1000


def description_validators() -> list:
    return [MaxLengthValidator(DESCRIPTION_MAX)]


def length_validators(model, field_name: str) -> list:
    """The model field's length limit as a validator, for an API serializer's field."""
    return [MaxLengthValidator(model._meta.get_field(field_name).max_length)]
