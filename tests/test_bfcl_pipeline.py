"""BFCL through the whole DVC graph on the tiny preset: a few requests of each category,
taught offline by BFCL's possible answers (`teach.backend: replay`), every model scored per
category by bfcl-eval's own checker."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml
from dvc_project import git_commit, run, tiny_project
from presets import merged

from supertiny.jsonl import read_jsonl
from supertiny.tasks.bfcl.data import TEST_CATEGORIES, TRAIN_CATEGORIES

pytestmark = pytest.mark.slow
BFCL = {"prepare": {"task": "bfcl"}, "teach": {"backend": "replay"},
        "bfcl": {"train_per_category": 4, "train_irrelevance": 2, "train_composed": 3, "dev_fraction": 0.01, "test_per_category": 3}}
LIVE_CALLS = [c for c in TRAIN_CATEGORIES if c != "live_irrelevance"]
MODELS = ("base", "sft", "rft", "distill", "rl", "pruned", "deployed")


@pytest.fixture(scope="module")
def bfcl_project(tmp_path_factory):
    root = tmp_path_factory.mktemp("bfcl") / "project"
    root.mkdir()
    tiny_project(root)
    params = merged(yaml.safe_load((root / "params.yaml").read_text()), BFCL)
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    git_commit(root, "bfcl")
    run(["dvc", "repro"], root)
    return root


def metrics(root, name: str) -> dict:
    return json.loads((root / "metrics" / f"{name}.json").read_text())


def test_bfcl_runs_the_whole_graph_scored_by_its_own_checker(bfcl_project):
    root = bfcl_project
    prepare = metrics(root, "prepare")
    assert prepare["train_examples"] == 4 * len(LIVE_CALLS) + 2 + 3 and prepare["test_examples"] == 3 * len(TEST_CATEGORIES)
    assert all(prepare[f"train_{c}"] == 4 for c in LIVE_CALLS) and all(prepare[f"test_{c}"] == 3 for c in TEST_CATEGORIES)
    assert prepare["train_live_irrelevance"] == 2 and prepare["train_composed"] == 3
    assert not any(f"train_{c}" in prepare or f"dev_{c}" in prepare for c in TEST_CATEGORIES)
    assert metrics(root, "teach")["dev_exact_match"] == 1.0
    assert metrics(root, "judge")["accepted"] >= 18
    composed = [row for row in read_jsonl(root / "data/judged/accepted.jsonl") if row["category"] == "composed"]
    assert len(composed) == 3, "the replay teacher answers a composed request with all its parts' calls, and the judge keeps them"
    assert all(row["tools"] for row in read_jsonl(root / "data/judged/accepted.jsonl") if row["category"] != "live_irrelevance")

    keys = [f"bfcl_{c}" for c in TEST_CATEGORIES] + ["bfcl_non_live_ast"]
    teacher = metrics(root, "eval/teacher")
    assert {key: teacher[key] for key in keys} == dict.fromkeys(keys, 1.0), "BFCL's checker accepts its own first acceptable answers"
    for name in MODELS:
        scores = metrics(root, f"eval/{name}")
        assert all(0.0 <= scores[key] <= 1.0 for key in keys), name
        mean = sum(scores[f"bfcl_{c}"] for c in TEST_CATEGORIES if c != "irrelevance") / 4
        assert scores["bfcl_non_live_ast"] == pytest.approx(mean, abs=1e-4), name
        rows = read_jsonl(root / f"data/eval/{name}.jsonl")
        assert len(rows) == 15 and all(isinstance(row["official_correct"], bool) for row in rows), name
        for category in TEST_CATEGORIES:
            verdicts = [row["official_correct"] for row in rows if row["category"] == category]
            assert scores[f"bfcl_{category}"] == round(sum(verdicts) / len(verdicts), 4), (name, category)


def test_bfcl_report_lays_out_the_run_as_scored_and_names_a_run_without_scores(bfcl_project):
    root = bfcl_project
    run(["supertiny", "bfcl-report", "--output", "reports/bfcl.json"], root)
    report = json.loads((root / "reports/bfcl.json").read_text())
    assert set(report["models"]) == {"base", "sft", "deployed"}
    for name, scores in report["models"].items():
        evaluated = metrics(root, f"eval/{name}")
        assert scores == {**{c: evaluated[f"bfcl_{c}"] for c in TEST_CATEGORIES}, "overall": evaluated["bfcl_non_live_ast"]}
    assert report["examples"] == dict.fromkeys(TEST_CATEGORIES, 3)
    assert report["params"]["bfcl.test_per_category"] == 3 and report["params"]["sft.max_steps"] == metrics(root, "sft")["steps"]
    base_to_deployed = next(c for c in report["changes"] if (c["before"], c["after"]) == ("base", "deployed"))
    overall = report["models"]["deployed"]["overall"] - report["models"]["base"]["overall"]
    assert base_to_deployed["overall"]["change"] == pytest.approx(overall, abs=1e-3)  # equal categories: pooled = BFCL's mean
    assert base_to_deployed["overall"]["low"] <= base_to_deployed["overall"]["change"] <= base_to_deployed["overall"]["high"]

    committed = subprocess.run([sys.executable, "-m", "supertiny.cli", "bfcl-report", "--rev", "HEAD", "--output", "elsewhere.json"],
                               cwd=root, capture_output=True, text=True)
    assert committed.returncode != 0 and not (root / "elsewhere.json").exists()
    assert committed.stderr.strip().splitlines()[-1].startswith("supertiny: error: metrics/eval/base.json at HEAD")
