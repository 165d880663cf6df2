"""The typed settings of hub/settings.py read from the environment with django-environ,
strictly: a value that cannot be read stops the start with ImproperlyConfigured naming the
variable and what it accepts. django-environ alone reads any unknown word as false
(`HUB_DEBUG=ture` is quietly off), lets a bare ValueError out of a bad integer, and reads
a float from whatever digits a value holds (`3s` is 3.0).

Set but empty counts as unset (the default applies), as compose files often leave a
variable empty. Plain strings (secrets among them) are read with os.environ: django-environ
would take a value starting with `$` for the name of another variable."""

import environ
from django.core.exceptions import ImproperlyConfigured

TRUE = ("1", "true", "yes", "on")
FALSE = ("0", "false", "no", "off")

_ACCEPTED = {
    bool: f"one of {', '.join(TRUE)} (on) or {', '.join(FALSE)} (off)",
    int: "a whole number",
    float: "a number",
}


class StrictEnv(environ.Env):
    def get_value(self, var, cast=None, default=environ.Env.NOTSET, parse_default=False):
        raw = self.ENVIRON.get(f"{self.prefix}{var}", "")
        if not raw.strip() and default is not self.NOTSET:
            return default
        try:
            return super().get_value(var, cast, default, parse_default)
        except ValueError:
            accepted = _ACCEPTED.get(cast, f"a {getattr(cast, '__name__', cast)}")
            message = f"{var}={raw!r} is not valid: it must be {accepted}"
            raise ImproperlyConfigured(message) from None

    @classmethod
    def parse_value(cls, value, cast):
        if cast is bool:
            word = str(value).strip().lower()
            if word not in TRUE + FALSE:
                raise ValueError(value)
            return word in TRUE
        if cast in (int, float):
            return cast(str(value).strip())
        return super().parse_value(value, cast)


env = StrictEnv()
