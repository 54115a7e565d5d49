"""Files and params of a run at a git revision or experiment, through DVC: metrics are in
git, scored rows and models in DVC's cache. For the reports that lay out runs other than
the workspace's (`supertiny bfcl-report`, `supertiny scaling-report`, `supertiny compare`)."""

from __future__ import annotations

from supertiny.errors import SupertinyError
from supertiny.jsonl import parse_jsonl


def read_at(path: str, rev: str | None, repo: str = ".") -> str:
    """`path`'s text at `rev` (None: the workspace); a missing file, rev or cache entry is one
    line naming them, not DVC's traceback."""
    import dvc.api

    try:
        return dvc.api.read(path, repo=repo, rev=rev)
    except Exception as error:
        raise SupertinyError(f"{path} at {rev or 'the workspace'}: {error}") from error


def rows_at(path: str, rev: str | None, repo: str = ".", required: tuple[str, ...] = ()) -> list[dict]:
    """`path`'s JSONL rows at `rev`; a bad line is one error naming it as git does, REV:PATH:LINE."""
    return [row for _, row in parse_jsonl(read_at(path, rev, repo).splitlines(), f"{rev}:{path}" if rev else path, required)]


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
