"""`<hub_id:...>` in API paths: a positive integer the database can hold. A longer one
matches no endpoint (404), instead of overflowing the database's integer."""

from django.urls import register_converter


class IdConverter:
    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value) -> str:
        return str(int(value))


class UsernameConverter:
    """`<hub_username:...>`: the characters Django allows in a username (letters, digits
    and @ . + - _). Anything else (a NUL byte, say, which PostgreSQL refuses in a query)
    matches no endpoint."""

    regex = r"[\w.@+-]+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value) -> str:
        return str(value)


register_converter(IdConverter, "hub_id")
register_converter(UsernameConverter, "hub_username")
