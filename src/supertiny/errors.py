"""One error type for everything a user can get wrong, printed as one line.

Stages and the CLI catch `SupertinyError` at the top and print its message without a
traceback: the message must name the file, line or key that is wrong.
"""

from __future__ import annotations

import functools
import sys
from typing import Callable


class SupertinyError(Exception):
    """A user-facing error whose message is one self-explanatory line."""


def exit_on_user_error(main: Callable[..., object]) -> Callable[..., object]:
    """Wrap a stage/CLI entry point: user errors become one line on stderr and exit code 2."""

    @functools.wraps(main)
    def wrapper(*args, **kwargs):
        try:
            return main(*args, **kwargs)
        except SupertinyError as error:
            print(f"supertiny: error: {error}", file=sys.stderr)
            sys.exit(2)

    return wrapper
