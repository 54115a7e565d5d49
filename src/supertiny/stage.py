"""How every stage script ends: one summary line, after its progress bars.

A stage's `main()` returns a short summary (what it produced and its key figure); this
wrapper adds the wall time, so a long `dvc repro` log reads as one line per stage. User
errors still end the stage with one line and exit code 2 (see errors.py). A training stage
run on several processes (supertiny.launch) returns None in all but the main one: one line.
"""

from __future__ import annotations

import functools
import sys
import time
from pathlib import Path
from typing import Callable

from supertiny.errors import exit_on_user_error


def stage_main(main: Callable[..., str | None]) -> Callable[..., None]:
    """Wrap a stage's entry point: print `<stage>: <summary> [<seconds> s]` when it ends (if it has a summary)."""

    @functools.wraps(main)
    @exit_on_user_error
    def wrapper(*args, **kwargs) -> None:
        started = time.perf_counter()
        summary = main(*args, **kwargs)
        if summary is not None:
            print(f"{Path(sys.argv[0]).stem}: {summary} [{time.perf_counter() - started:.0f} s]", flush=True)

    return wrapper
