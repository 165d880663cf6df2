"""Serializer pieces every API uses. Validation of the hub's objects belongs to the models
and services (so the browser and the API give the same message); serializers check only
the shape of a request: which fields, of which JSON type."""

from collections.abc import Mapping

from rest_framework import serializers

# The largest primary key the database can hold (64-bit): a larger id is no object.
MAX_ID = 2**63 - 1


class StrictFieldsMixin:
    """Refuse a body (or nested object) with a field the serializer does not know, instead
    of ignoring it: a misspelt optional field must not pass silently."""

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            unknown = sorted(str(key) for key in data if key not in writable)
            if unknown:
                raise serializers.ValidationError(
                    {key: ["Unknown field: this endpoint does not accept it."] for key in unknown}
                )
        return super().to_internal_value(data)


class StrictSerializer(StrictFieldsMixin, serializers.Serializer):
    """A request body: known fields only."""


class StrictCharField(serializers.CharField):
    """A JSON string, not a number turned into one."""

    default_error_messages = {"invalid": "Must be a string."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """JSON `true` or `false`, not "yes", 1 or "on"."""

    default_error_messages = {"invalid": "Must be true or false."}

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer, not a string of digits, a float or a boolean."""

    default_error_messages = {"invalid": "Must be an integer."}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictChoiceField(serializers.ChoiceField):
    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid_choice", input=data)
        return super().to_internal_value(data)
