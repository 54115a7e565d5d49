"""`supertiny compare`: is a variant's change in exact match beyond the noise?

`dvc metrics diff` shows 0.840 -> 0.860; on 150 requests that is 3 answers, well inside
what another draw of the test set would move. Two runs that scored the same requests (two
commits, two `dvc exp` experiments, a run and the workspace, or two scored files) are
compared request by request with the paired bootstrap of `supertiny.intervals`: per set
(test and each hand-written set), per category within a set, and pooled over every set.
Runs of several seeds pool their pairs (the first --before with the first --after, and so
on), so a claim can rest on more than one training run.
"""

from __future__ import annotations

from supertiny.errors import SupertinyError
from supertiny.intervals import paired_change
from supertiny.jsonl import read_jsonl
from supertiny.revisions import rows_at

FIELDS = ("id", "split", "category", "correct")
ALL = "all"


def is_scored_file(run: str) -> bool:
    """A run named by its scored file (a missing one is an error, not a revision's name)."""
    return run.endswith(".jsonl")


def scored_rows(run: str, model: str, repo: str = ".") -> list[dict]:
    """The evaluate stage's rows of `model` in `run`: a git revision or experiment name,
    `workspace`, or the path of a scored JSONL file (data/eval/<model>.jsonl of any folder)."""
    if is_scored_file(run):
        return read_jsonl(run, required=FIELDS)
    path = f"data/eval/{model}.jsonl"
    rows = rows_at(path, None if run == "workspace" else run, repo, required=FIELDS)
    if not rows:
        raise SupertinyError(f"{path} at {run}: no scored requests ({model} was skipped or passed its input on)")
    return rows


def compare_runs(pairs: list[tuple[list[dict], list[dict]]]) -> list[dict]:
    """One row per set, per category within it, and pooled over every set: the paired change
    from the before rows to the after rows over the requests both scored, pairs of seeds pooled."""
    before: dict[tuple, bool] = {}
    after: dict[tuple, bool] = {}
    sets: list[str] = []
    for seed, (before_rows, after_rows) in enumerate(pairs):
        for scored, run_rows in ((before, before_rows), (after, after_rows)):
            for row in run_rows:
                scored[(seed, row["split"], row["category"], row["id"])] = bool(row["correct"])
                if row["split"] not in sets:
                    sets.append(row["split"])
    if not before.keys() & after.keys():
        raise SupertinyError("the runs compared scored no request in common (another task, or other splits)")

    def change(keep) -> dict:
        return paired_change({str(key): value for key, value in before.items() if keep(key)},
                             {str(key): value for key, value in after.items() if keep(key)})

    rows = []
    for split in sets:
        groups = [ALL] + sorted({key[2] for key in before.keys() & after.keys() if key[1] == split})
        for category in groups:
            result = change(lambda key: key[1] == split and category in (ALL, key[2]))
            if result:
                rows.append({"set": split, "category": category, **result})
    if len(sets) > 1:
        rows.append({"set": ALL, "category": ALL, **change(lambda key: True)})
    return rows


def compare_markdown(rows: list[dict], before: list[str], after: list[str], model: str, after_model: str) -> str:
    """The table a pull request or a lab notebook can hold."""
    seeds = f" ({len(before)} pairs of runs pooled)" if len(before) > 1 else ""
    models = model if model == after_model else f"{model} -> {after_model}"
    of = "" if all(is_scored_file(run) for run in before + after) else f" of {models}"  # a file names its own model
    lines = [f"Exact match{of}, {', '.join(before)} -> {', '.join(after)}{seeds}; 95% paired bootstrap interval:", "",
             "| set | category | requests | before | after | change [95% interval] | |", "|---|---|---|---|---|---|---|"]
    for row in rows:
        verdict = "beyond the noise" if row["significant"] else "within the noise"
        lines.append(f"| {row['set']} | {row['category']} | {row['examples']} | {row['exact_match_before']:.3f} | {row['exact_match_after']:.3f} "
                     f"| {row['change']:+.3f} [{row['low']:+.3f}, {row['high']:+.3f}] | {verdict} |")
    return "\n".join(lines) + "\n"
