"""`reports/scaling.json`: exact match against the training sft gets, one row per run, for
the sft and the deployed model on test and the two hand-written sets.

The default graph must fit 45 minutes on 2 cores, so whether more training closes the gap
to the teacher is a question of a curve, not of one run. Each row is a whole `dvc repro`
(a commit, or an experiment with more traces or steps) read back from git and DVC; the
report stage draws them (plot `accuracy_vs_training`). With ~150 requests a set, one
point carries about ±0.08 (95%); compare runs pairwise on the same requests for more.
"""

from __future__ import annotations

import json

from supertiny.errors import SupertinyError
from supertiny.revisions import lookup, params_at, read_at

MODELS = ("sft", "deployed")
SPLITS = {"test": "exact_match", "handwritten": "handwritten_exact_match", "blind": "blind_exact_match"}
RUN_PARAMS = ("prepare.train_size", "sft.max_steps", "sft.batch_size", "sft.grad_accum", "sft.learning_rate", "sft.seed",
              "prune.target_ratio", "prune.max_steps", "prune.learning_rate", "quantize.precision")


def scaling_row(name: str, metrics: dict[str, dict], sft: dict, params: dict) -> dict:
    """One run: `metrics` the evaluate stage's per model (sft, deployed), `sft` the sft stage's
    own metrics (traces trained on, seconds), `params` the run's params.yaml (nested)."""
    missing = [f"{model}: {key}" for model in MODELS for key in SPLITS.values() if key not in metrics.get(model, {})]
    if missing:
        raise SupertinyError(f"run {name}: no {', '.join(missing)} (the held-out sets are scored for sft and deployed)")
    sequences = lookup(params, "sft.max_steps") * lookup(params, "sft.batch_size") * lookup(params, "sft.grad_accum")  # batch_size is global
    seen = round(sequences * sft["examples"] / sft.get("sequences", sft["examples"]))  # a packed sequence holds several traces
    return {
        "run": name,
        "sft_examples_seen": seen,
        "traces": sft["examples"],
        "epochs": round(seen / sft["examples"], 2),
        "sft_seconds": sft["train_seconds"],
        **{f"{model}_{split}": metrics[model][key] for model in MODELS for split, key in SPLITS.items()},
        **{key.replace(".", "_"): lookup(params, key) for key in RUN_PARAMS},
    }


def read_row(label: str, rev: str | None, repo: str = ".") -> dict:
    """The row of the run at `rev` (None: the workspace), named `label`."""
    metrics = {model: json.loads(read_at(f"metrics/eval/{model}.json", rev, repo)) for model in MODELS}
    return scaling_row(label, metrics, json.loads(read_at("metrics/sft.json", rev, repo)), params_at(rev, repo))


def scaling_report(runs: list[str], repo: str = ".") -> list[dict]:
    """Rows of `runs` (each `label=rev`, a bare rev labelled by itself; `workspace` the working
    tree), ordered by the examples sft saw."""
    rows = []
    for run in runs:
        label, _, rev = run.rpartition("=") if "=" in run else (run, "", run)
        rows.append(read_row(label, None if rev == "workspace" else rev, repo))
    return sorted(rows, key=lambda row: (row["sft_examples_seen"], row["traces"]))
