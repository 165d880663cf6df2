"""The hub's own errors. Services raise them; the UI shows them on the form and the
API maps each one to its status code and the contract's error shape."""


class HubError(Exception):
    code = "error"
    status_code = 400

    def __init__(self, message: str, *, fields: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class InvalidInput(HubError):
    code = "invalid"
    status_code = 400

    @classmethod
    def from_django(cls, error) -> "InvalidInput":
        """Wrap a django ValidationError, keeping its per-field messages."""
        if hasattr(error, "error_dict"):
            fields = {
                ("non_field_errors" if k == "__all__" else k): list(v)
                for k, v in error.message_dict.items()
            }
            first = next(iter(fields.values()))[0]
            return cls(first, fields=fields)
        return cls(" ".join(error.messages))


class NotAllowed(HubError):
    code = "permission_denied"
    status_code = 403


class NotFound(HubError):
    code = "not_found"
    status_code = 404


class Conflict(HubError):
    code = "conflict"
    status_code = 409
