"""The whole DVC graph on the `tiny` preset, in a temporary copy of the repository.

Real `dvc repro`: every stage runs, the second repro runs nothing, and a changed `sft`
param invalidates sft and what follows it, not the stages before it.
"""

from __future__ import annotations

import contextlib
import json
import re
from pathlib import Path

import pytest
import yaml
from dvc_project import run

# `project` (conftest.py): the tiny-preset graph after a real `dvc repro`, shared with test_dvc_workflow.py.


@contextlib.contextmanager
def changed_param(project: Path, section: str, key: str, value):
    """params.yaml with one value changed, put back as it was afterwards."""
    params_path = project / "params.yaml"
    original = params_path.read_text()
    params = yaml.safe_load(original)
    params[section][key] = value
    params_path.write_text(yaml.safe_dump(params, sort_keys=False))
    try:
        yield
    finally:
        params_path.write_text(original)


@pytest.mark.slow
def test_repro_builds_every_model_metric_and_report(project):
    for name in ("teacher", "base", "sft", "rft", "distill", "rl"):
        metrics = json.loads((project / "metrics" / "eval" / f"{name}.json").read_text())
        assert metrics["examples"] == 20
        assert {"exact_match", "similarity", "parse_rate", "latency_ms_p50", "latency_ms_p95"} <= set(metrics)
    assert json.loads((project / "metrics/eval/teacher.json").read_text())["exact_match"] >= 0.8
    assert json.loads((project / "metrics/judge.json").read_text())["traces"] == 60
    for model in ("base", "sft", "rft", "distill", "rl"):
        folder = project / "models" / model
        assert (folder / "model.safetensors").exists() and not list(folder.glob("*.bin"))
        card = json.loads((folder / "card.json").read_text())
        assert card["stage"] == ("student" if model == "base" else model) and card["parameters"] > 0
    assert json.loads((project / "models/rl/card.json").read_text())["inputs"]["model"] == "models/distill"
    assert json.loads((project / "metrics/rft.json").read_text())["prompts"] == 8
    assert len(json.loads((project / "metrics/train/rl.json").read_text())) == 2
    report = (project / "reports/report.md").read_text()
    assert "| sft |" in report and "| teacher |" in report
    assert "## Knowledge transfer" in report and "- **rl**: GRPO for 2 steps from distill" in report
    intervals = json.loads((project / "reports/intervals.json").read_text())
    assert {"sft_vs_base", "rft_vs_sft", "rl_vs_distill", "deployed_vs_pruned", "teacher_vs_deployed"} <= set(intervals)
    assert all(v["low"] <= v["change"] <= v["high"] for v in intervals.values())
    assert all(v["examples"] == 20 for k, v in intervals.items() if not k.startswith(("handwritten_", "blind_")))
    assert {"handwritten_rft_vs_sft", "blind_deployed_vs_rl"} <= set(intervals)  # pruned is not scored there: compression is one step
    assert not {"handwritten_sft_vs_base", "blind_sft_vs_base", "blind_deployed_vs_pruned"} & set(intervals)  # evaluate.held_out_skip
    assert "| sft → rft |" in report
    assert len(json.loads((project / "metrics/train/sft.json").read_text())) == 4
    # exact match against steps: scored before training, every dev_curve_every (2) steps and at the end
    dev_curve = json.loads((project / "metrics/train/sft_dev.json").read_text())
    assert [row["step"] for row in dev_curve] == [0, 2, 4]
    assert all(0 <= row["dev_greedy_exact_match"] <= row["dev_token_accuracy"] <= 1 for row in dev_curve)
    sft = json.loads((project / "metrics/sft.json").read_text())
    assert (sft["dev_greedy_exact_match"], sft["dev_token_accuracy"]) == (dev_curve[-1]["dev_greedy_exact_match"], dev_curve[-1]["dev_token_accuracy"])
    # the last point is the saved model, scored again here from its folder on the same dev rows
    from supertiny.changes import with_student_golds
    from supertiny.checkpoints import load_model
    from supertiny.compress.fidelity import answer_sequences, greedy_match, torch_logits
    from supertiny.jsonl import read_jsonl
    from supertiny.tasks import get_task

    dev = with_student_golds(read_jsonl(project / "data/task/dev.jsonl")[:4], read_jsonl(project / "data/traces/dev.jsonl"))
    model, tokenizer = load_model(str(project / "models/sft"))
    sequences = answer_sequences(tokenizer, get_task("smart_home"), dev)
    scores = greedy_match(torch_logits(model, sequences), sequences)
    assert (scores["greedy_exact_match"], scores["token_accuracy"]) == (sft["dev_greedy_exact_match"], sft["dev_token_accuracy"])
    # every declared plot as SVG (supertiny.plots), linked from the report
    assert (project / "reports/plots/accuracy_by_category.svg").read_text().startswith("<svg")
    assert "![accuracy_by_category](plots/accuracy_by_category.svg)" in report and "![transfer_loss](plots/transfer_loss.svg)" in report


@pytest.mark.slow
def test_every_model_is_scored_on_the_hand_written_set_which_nothing_trains_on(project):
    """evaluate scores the task's hand-written sets (but not base or pruned: evaluate.held_out_skip) each as its own split (capped at 25 by the tiny
    preset's evaluate.held_out_limit), next to the test split's unchanged keys; latency is
    timed on the test split only; no trace or training example holds a hand-written request."""
    from supertiny.utterances import normal_text
    from supertiny.tasks.smart_home.generator import CATEGORIES

    def rows(path):
        return [json.loads(line) for line in (project / path).read_text().splitlines()]

    hand = rows("data/task/handwritten.jsonl")
    assert len(hand) >= 120 and json.loads((project / "metrics/prepare.json").read_text())["handwritten_examples"] == len(hand)
    for name in ("base", "pruned"):  # evaluate.held_out_skip: on the test split only
        skipped = json.loads((project / "metrics/eval" / f"{name}.json").read_text())
        assert skipped["examples"] == 20 and not [key for key in skipped if key.startswith(("handwritten_", "blind_"))]
        assert {r["split"] for r in rows(f"data/eval/{name}.jsonl")} == {"test"}
    for name in ("teacher", "sft", "rft", "distill", "rl", "deployed"):
        metrics = json.loads((project / "metrics" / "eval" / f"{name}.json").read_text())
        assert metrics["examples"] == 20 and metrics["handwritten_examples"] == 25 and metrics["latency_samples"] == 2
        assert {"handwritten_exact_match", "handwritten_parse_rate", *(f"handwritten_exact_match_{c}" for c in CATEGORIES)} <= set(metrics)
        assert not [key for key in metrics if key.startswith("handwritten_") and "latency" in key]
        assert metrics["blind_examples"] == 25 and "blind_exact_match" in metrics
        assert [r["split"] for r in rows(f"data/eval/{name}.jsonl")] == ["test"] * 20 + ["handwritten"] * 25 + ["blind"] * 25
    # the teacher's figure on the set is what its reference rules answer to those rows, scored here on their own
    from supertiny.score import exact_match
    from supertiny.tasks import get_task
    from supertiny.teacher.loop import run_tool_loop
    from supertiny.teacher.reference import ReferenceBackend

    task, by_id = get_task("smart_home"), {r["id"]: r for r in hand}
    scored = [r["id"] for r in rows("data/eval/teacher.jsonl") if r["split"] == "handwritten"]
    right = [exact_match(run_tool_loop(ReferenceBackend(task), task, by_id[i], 6).final, by_id[i]["gold"]) for i in scored]
    assert json.loads((project / "metrics/eval/teacher.json").read_text())["handwritten_exact_match"] == pytest.approx(sum(right) / len(right), abs=1e-4)
    trained = {normal_text(r["input"]) for path in ("data/task/train.jsonl", "data/task/dev.jsonl", "data/traces/train.jsonl",
                                                    "data/traces/dev.jsonl", "data/judged/accepted.jsonl") for r in rows(path)}
    assert not trained & {normal_text(r["input"]) for r in hand}
    report = (project / "reports/report.md").read_text()
    teacher = json.loads((project / "metrics/eval/teacher.json").read_text())
    side_by_side = f"| teacher | {teacher['exact_match']:.3f} / {teacher['handwritten_exact_match']:.3f} |"
    assert "## Test split and hand-written set `handwritten` side by side" in report and side_by_side in report
    assert [row["model"] for row in json.loads((project / "reports/models.json").read_text()) if row["handwritten_exact_match"] is None] == ["base", "pruned"]


@pytest.mark.slow
def test_second_repro_runs_nothing(project):
    result = run(["dvc", "repro"], project)
    assert "Running stage" not in result.stdout
    assert "didn't change" in result.stdout or "up to date" in result.stdout


@pytest.mark.slow
def test_dag_metrics_and_params_are_readable_by_dvc(project):
    dot = run(["dvc", "dag", "--dot"], project).stdout
    for edge in ['"prepare" -> "teach"', '"teach" -> "judge"', '"judge" -> "sft"', '"sft" -> "rft"', '"rft" -> "distill"',
                 '"distill" -> "rl"', '"rl" -> "evaluate@rl"', '"sft" -> "evaluate@sft"', '"evaluate@sft" -> "report"']:
        assert edge in dot
    shown = json.loads(run(["dvc", "metrics", "show", "--json"], project).stdout)
    text = json.dumps(shown)
    for name in ("teacher", "base", "sft"):
        assert f"metrics/eval/{name}.json" in text


@pytest.mark.slow
def test_a_changed_sft_param_invalidates_sft_and_nothing_upstream(project):
    with changed_param(project, "sft", "learning_rate", 0.002):
        status = json.loads(run(["dvc", "status", "--json"], project).stdout)
        assert "sft" in status
        assert not {"prepare", "teach", "judge", "student"} & set(status)
        diff = json.loads(run(["dvc", "params", "diff", "--json"], project).stdout)
        assert diff["params.yaml"]["sft.learning_rate"]["new"] == 0.002


@pytest.mark.slow
def test_compression_builds_a_deployed_model_and_a_quantize_param_reruns_only_what_follows(project):
    deployed = json.loads((project / "metrics/eval/deployed.json").read_text())
    assert deployed["examples"] == 20 and deployed["decode_tokens_per_s"] > 0 and deployed["model_bytes"] > 0
    assert json.loads((project / "models/deployed/card.json").read_text())["kind"] == "ort-genai"
    assert json.loads((project / "metrics/prune.json").read_text())["parameter_ratio"] <= 0.99
    benchmark = json.loads((project / "metrics/benchmark.json").read_text())
    assert "speedup_p50_vs_pytorch_fp32" in benchmark
    assert benchmark["bandwidth_gbs"] > 0 and benchmark["decode_floor_ms_per_token"] > 0 and "decode_ms_per_token_over_floor" in benchmark
    assert "## Compression" in (project / "reports/report.md").read_text()
    cascade = json.loads((project / "metrics/cascade.json").read_text())
    assert cascade["test_exact_match_teacher"] == 1.0 and 0.0 <= cascade["threshold"] <= 1.01
    # what serve checks its threshold against
    assert cascade["confidence"] == yaml.safe_load((project / "params.yaml").read_text())["generation"]["confidence"]
    # the teacher is always right here, so every hand-off is a right answer
    assert cascade["test_exact_match_cascade"] >= max(cascade["test_exact_match_tiny"], cascade["test_handoff_share"])
    curve = json.loads((project / "reports/cascade_curve.json").read_text())
    assert {p["split"] for p in curve} == {"dev", "test", "handwritten", "blind"} and max(p["handoff_share"] for p in curve) == 1.0
    assert "handwritten_exact_match_cascade" in cascade and "blind_exact_match_cascade" in cascade
    assert "## Cascade" in (project / "reports/report.md").read_text()
    with changed_param(project, "quantize", "block_size", 16):
        ran = set(re.findall(r"Running stage '([^']+)'", run(["dvc", "repro"], project).stdout))
        assert ran == {"quantize", "evaluate@deployed", "calibrate", "benchmark", "report"}
