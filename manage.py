#!/usr/bin/env python
import os
import sys

from django.core.management import execute_from_command_line

from hub import devenv


def main() -> None:
    # Beside `make run`: the same database, broker and local AWS (development only).
    if loaded := devenv.load():
        print(
            f"(settings of `make run` from {devenv.path()}: {', '.join(loaded)})", file=sys.stderr
        )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings")

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
