import re

from rest_framework import parsers
from rest_framework.exceptions import ParseError

# Half of a UTF-16 surrogate pair on its own: JSON's "\ud800" escape decodes to one, but it
# is no Unicode character (it cannot be encoded, stored or rendered back).
LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, also refusing with a 400 instead of a 500: absurdly nested
    documents (which exhaust Python's recursion limit) and strings, keys included, that
    hold a lone surrogate."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply.") from None
        if _has_lone_surrogate(data):
            raise ParseError(
                "JSON parse error - a string holds a lone surrogate (an escape "
                "such as \\ud800 without its pair), which is not a character."
            )
        return data


def _has_lone_surrogate(data) -> bool:
    pending = [data]  # a loop, not recursion: the document may be nested deep
    while pending:
        value = pending.pop()
        if isinstance(value, str):
            if LONE_SURROGATE.search(value):
                return True
        elif isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    return False
