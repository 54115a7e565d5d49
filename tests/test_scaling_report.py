"""`supertiny scaling-report`: runs laid out against the training sft got, and the committed
reports/scaling.json it wrote (the README's curve)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from dvc_project import run

from supertiny.errors import SupertinyError
from supertiny.scaling_report import SPLITS, scaling_row

ROOT = Path(__file__).resolve().parents[1]


def scored(test: float, handwritten: float, blind: float) -> dict:
    return {"exact_match": test, "handwritten_exact_match": handwritten, "blind_exact_match": blind}


def test_a_row_counts_the_examples_sft_saw_and_names_a_run_without_held_out_scores():
    params = {"prepare": {"train_size": 4800}, "sft": {"max_steps": 300, "batch_size": 8, "grad_accum": 2, "seed": 1}}
    row = scaling_row("more", {"sft": scored(0.8, 0.6, 0.5), "deployed": scored(0.7, 0.55, 0.45)},
                      {"examples": 4791, "train_seconds": 2700.0}, params)
    assert (row["sft_examples_seen"], row["traces"], row["epochs"]) == (4800, 4791, 1.0)
    assert (row["deployed_test"], row["sft_handwritten"], row["deployed_blind"]) == (0.7, 0.6, 0.45)
    assert row["prepare_train_size"] == 4800 and row["sft_seed"] == 1 and row["prune_target_ratio"] is None
    packed = scaling_row("packed", {"sft": scored(0.8, 0.6, 0.5), "deployed": scored(0.7, 0.55, 0.45)},
                         {"examples": 4000, "sequences": 1000, "train_seconds": 1.0}, params)
    assert (packed["sft_examples_seen"], packed["epochs"]) == (19200, 4.8)  # 4,800 sequences of four traces each

    with pytest.raises(SupertinyError, match=r"^run base-only: no deployed: handwritten_exact_match, deployed: blind_exact_match"):
        scaling_row("base-only", {"sft": scored(0.8, 0.6, 0.5), "deployed": {"exact_match": 0.7}}, {"examples": 1, "train_seconds": 1}, params)


def test_the_committed_scaling_report_holds_this_commits_default_run():
    """The row labelled `default` is the committed metrics and params.yaml: the README's curve
    and its results table show the same run."""
    rows = json.loads((ROOT / "reports/scaling.json").read_text())
    assert [row["sft_examples_seen"] for row in rows] == sorted(row["sft_examples_seen"] for row in rows)
    default = next(row for row in rows if row["run"] == "default")
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    metrics = {model: json.loads((ROOT / f"metrics/eval/{model}.json").read_text()) for model in ("sft", "deployed")}
    assert default == scaling_row("default", metrics, json.loads((ROOT / "metrics/sft.json").read_text()), params)


@pytest.mark.slow
def test_scaling_report_reads_the_workspace_and_names_a_revision_without_the_run(project, tmp_path):
    output = tmp_path / "scaling.json"
    run([sys.executable, "-m", "supertiny.cli", "scaling-report", "tiny=workspace", "--output", str(output)], project)
    (row,) = json.loads(output.read_text())
    for model in ("sft", "deployed"):
        evaluated = json.loads((project / f"metrics/eval/{model}.json").read_text())
        assert [row[f"{model}_{split}"] for split in SPLITS] == [evaluated[key] for key in SPLITS.values()]
    assert row["run"] == "tiny" and row["traces"] == json.loads((project / "metrics/sft.json").read_text())["examples"]

    # the tiny project's first commit holds its sources only (later tests may commit a build)
    first = run(["git", "rev-list", "--max-parents=0", "HEAD"], project).stdout.strip()
    failed = subprocess.run([sys.executable, "-m", "supertiny.cli", "scaling-report", first, "--output", str(tmp_path / "no.json")],
                            cwd=project, capture_output=True, text=True)
    assert failed.returncode != 0 and not (tmp_path / "no.json").exists()
    assert failed.stderr.strip().splitlines()[-1].startswith(f"supertiny: error: metrics/eval/sft.json at {first}")
