"""Files and params of a run at a git revision or experiment, through DVC: metrics are in
git, scored rows and models in DVC's cache. For the reports that lay out runs other than
the workspace's (`supertiny bfcl-report`, `supertiny scaling-report`)."""

from __future__ import annotations

import json

from supertiny.errors import SupertinyError


def read_at(path: str, rev: str | None, repo: str = ".") -> str:
    """`path`'s text at `rev` (None: the workspace); a missing file, rev or cache entry is one
    line naming them, not DVC's traceback."""
    import dvc.api

    try:
        return dvc.api.read(path, repo=repo, rev=rev)
    except Exception as error:
        raise SupertinyError(f"{path} at {rev or 'the workspace'}: {error}") from error


def rows_at(path: str, rev: str | None, repo: str = ".") -> list[dict]:
    """`path`'s JSONL rows at `rev`; a line that is not a JSON object is one error naming it."""
    rows = []
    for number, line in enumerate(read_at(path, rev, repo).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise SupertinyError(f"{path}:{number} at {rev or 'the workspace'}: invalid JSON ({error.msg})") from None
        if not isinstance(row, dict):
            raise SupertinyError(f"{path}:{number} at {rev or 'the workspace'}: expected a JSON object")
        rows.append(row)
    return rows


def params_at(rev: str | None, repo: str = ".") -> dict:
    """The run's params.yaml, nested."""
    import dvc.api

    try:
        return dvc.api.params_show(repo=repo, rev=rev)
    except Exception as error:
        raise SupertinyError(f"params.yaml at {rev or 'the workspace'}: {error}") from error


def lookup(params: dict, dotted: str):
    """params["sft"]["max_steps"] for "sft.max_steps"; None where a key is missing."""
    value = params
    for key in dotted.split("."):
        value = value.get(key) if isinstance(value, dict) else None
    return value
