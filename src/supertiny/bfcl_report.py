"""`reports/bfcl.json`: one BFCL run's scores per category for base, sft and deployed, with
how sure each gain is.

BFCL's own checker has already judged every test answer (`official_correct` in
`data/eval/<model>.jsonl`, the `bfcl_*` keys of `metrics/eval/<model>.json`); this only
lays one run out in the shape the README's table reads, beside the leaderboard's published
figures, and adds paired bootstrap intervals (supertiny.intervals) of each model's change
over the one before, per category and on BFCL's non-live AST summary. A BFCL run is an
experiment (`dvc exp run -S prepare.task=bfcl ...`), not the default graph, so the report is
written from any revision: `supertiny bfcl-report --rev <experiment or commit>`.
"""

from __future__ import annotations

import json
from collections import Counter

from supertiny.errors import SupertinyError
from supertiny.intervals import paired_change
from supertiny.revisions import lookup, params_at, read_at, rows_at
from supertiny.tasks.bfcl.checker import NON_LIVE_AST
from supertiny.tasks.bfcl.data import TEST_CATEGORIES

MODELS = ("base", "sft", "deployed")
STEPS = (("base", "sft"), ("base", "deployed"), ("sft", "deployed"))
# BFCL v4 leaderboard (April 2026), non-live AST, for models of the student's size class
PUBLISHED_NON_LIVE_AST = {"Qwen3-0.6B (FC)": 0.7179, "xLAM-2-1b-fc-r": 0.6904, "Hammer2.1-0.5b (FC)": 0.6598}
RUN_PARAMS = ("prepare.seed", "bfcl.train_per_category", "bfcl.train_irrelevance", "bfcl.train_composed", "bfcl.dev_fraction",
              "bfcl.test_per_category", "student.model", "sft.max_steps", "sft.batch_size", "sft.max_length", "rft.max_steps", "rl.steps",
              "prune.target_ratio", "prune.learning_rate", "prune.max_steps", "prune.max_length", "quantize.precision", "generation.max_new_tokens", "generation.constrained")


def bfcl_report(metrics: dict[str, dict], rows: dict[str, list[dict]], params: dict) -> dict:
    """The report of one run: `metrics` and `rows` by model name (base, sft, deployed), as the
    evaluate stage wrote them; `params` the run's params.yaml (nested)."""
    missing = [name for name in MODELS if "bfcl_non_live_ast" not in metrics.get(name, {})]
    if missing:
        raise SupertinyError(f"no BFCL scores for {', '.join(missing)}: evaluate them in a run with prepare.task: bfcl")
    verdicts = {name: {row["id"]: row["official_correct"] for row in rows[name]} for name in MODELS}
    category_of = {row["id"]: row["category"] for row in rows["base"]}
    tally = Counter(category_of.values())
    counts = {category: tally[category] for category in TEST_CATEGORIES}
    return {
        "models": {
            name: {**{category: metrics[name][f"bfcl_{category}"] for category in TEST_CATEGORIES},
                   "overall": metrics[name]["bfcl_non_live_ast"]}
            for name in MODELS
        },
        "overall_is": "BFCL's non-live AST summary: the unweighted mean of " + ", ".join(NON_LIVE_AST) + " (irrelevance is not in it)",
        "examples": counts,
        "changes": [_change(verdicts, category_of, counts, before, after) for before, after in STEPS],
        "published_non_live_ast": PUBLISHED_NON_LIVE_AST,
        "params": {key: lookup(params, key) for key in RUN_PARAMS},
    }


def _change(verdicts: dict, category_of: dict, counts: dict, before: str, after: str) -> dict:
    """Paired changes per category; the overall one pools the non-live AST examples, which is
    BFCL's unweighted mean only when its categories are equally large (else left out)."""
    def of(name: str, categories) -> dict:
        return {i: v for i, v in verdicts[name].items() if category_of.get(i) in categories}

    change = {"before": before, "after": after}
    change.update({category: paired_change(of(before, {category}), of(after, {category})) for category in TEST_CATEGORIES})
    if len({counts[category] for category in NON_LIVE_AST}) == 1:
        change["overall"] = paired_change(of(before, set(NON_LIVE_AST)), of(after, set(NON_LIVE_AST)))
    return change


def read_run(repo: str, rev: str | None) -> tuple[dict, dict, dict]:
    """(metrics, rows, params) of a run at `rev` (None: the workspace)."""
    metrics = {name: json.loads(read_at(f"metrics/eval/{name}.json", rev, repo)) for name in MODELS}
    rows = {name: rows_at(f"data/eval/{name}.jsonl", rev, repo) for name in MODELS}
    return metrics, rows, params_at(rev, repo)
