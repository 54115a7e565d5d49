"""JSONL reading and atomic writing.

Reading reports the file and line of anything malformed; writing goes through a
temporary file and a rename, so an interrupted stage never leaves half a file where a
complete one is expected.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterable, Iterator

from supertiny.errors import SupertinyError


def iter_jsonl(path: str | Path, required: Iterable[str] = ()) -> Iterator[dict[str, Any]]:
    """Yield one dict per non-empty line; raise a one-line error naming file:line otherwise."""
    for _, row in iter_numbered_jsonl(path, required):
        yield row


def iter_numbered_jsonl(path: str | Path, required: Iterable[str] = ()) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, dict) per non-empty line, for readers that check rows further and must
    name the line of a bad one; the same one-line errors as `iter_jsonl`."""
    path = Path(path)
    if not path.exists():
        raise SupertinyError(f"{path}: file not found")
    with path.open(encoding="utf-8") as handle:
        yield from parse_jsonl(handle, str(path), required)


def parse_jsonl(lines: Iterable[str], name: str, required: Iterable[str] = ()) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, dict) per non-empty line of JSONL text read elsewhere (a file, or a file
    at a git revision), its errors naming `name`:line."""
    required = tuple(required)
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise SupertinyError(f"{name}:{number}: invalid JSON ({error.msg} at column {error.colno})") from None
        if not isinstance(row, dict):
            raise SupertinyError(f"{name}:{number}: expected a JSON object, got {type(row).__name__}")
        missing = [key for key in required if key not in row]
        if missing:
            raise SupertinyError(f"{name}:{number}: missing key {missing[0]!r}")
        yield number, row


def read_jsonl(path: str | Path, required: Iterable[str] = ()) -> list[dict[str, Any]]:
    return list(iter_jsonl(path, required))


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write text to path through a temporary sibling and an atomic rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_jsonl(path: str | Path, rows: Iterable[dict[str, Any]]) -> int:
    rows = list(rows)
    atomic_write_text(path, "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))
    return len(rows)


def write_json(path: str | Path, payload: Any) -> None:
    atomic_write_text(path, json.dumps(payload, indent=2, ensure_ascii=False, sort_keys=False) + "\n")


def read_json(path: str | Path) -> Any:
    path = Path(path)
    if not path.exists():
        raise SupertinyError(f"{path}: file not found")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise SupertinyError(f"{path}:{error.lineno}: invalid JSON ({error.msg})") from None
