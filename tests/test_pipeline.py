"""The whole DVC graph on the `tiny` preset, in a temporary copy of the repository.

Real `dvc repro`: every stage runs, the second repro runs nothing, and a changed `sft`
param invalidates sft and what follows it, not the stages before it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
COPIED = ["dvc.yaml", "params.yaml", "stages", "src", ".dvc/config", ".dvcignore", ".gitignore"]
TINY = {
    "prepare": {"train_size": 60, "dev_size": 20, "test_size": 20},
    "student": {"model": "tiny"},
    "sft": {"max_steps": 4, "batch_size": 4, "precision": "fp32"},
    "rft": {"prompts": 8, "samples": 2, "max_new_tokens": 8, "max_steps": 2, "batch_size": 4, "precision": "fp32"},
    "distill": {"teacher": "models/sft", "max_steps": 2, "batch_size": 4, "precision": "fp32"},
    "rl": {"prompts": 8, "steps": 2, "group_size": 2, "prompts_per_step": 2, "max_new_tokens": 8, "precision": "fp32"},
    "prune": {"target_ratio": 0.99, "calibration_examples": 2, "dev_examples": 4, "max_steps": 2, "batch_size": 4, "precision": "fp32"},
    "quantize": {"check_examples": 2},
    "benchmark": {"requests": 2, "max_new_tokens": 8},
    "evaluate": {"batch_size": 10, "max_new_tokens": 16, "latency_samples": 2},
}


def tiny_params(path: Path) -> None:
    params = yaml.safe_load(path.read_text())
    for section, values in TINY.items():
        params[section].update(values)
    path.write_text(yaml.safe_dump(params, sort_keys=False))


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "DVC_NO_ANALYTICS": "1", "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, env=env)
    assert result.returncode == 0, f"{' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("project")
    for name in COPIED:
        source, target = ROOT / name, root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if source.is_dir() else shutil.copy)(source, target)
    shutil.rmtree(root / "src" / "supertiny.egg-info", ignore_errors=True)
    tiny_params(root / "params.yaml")
    run(["git", "init", "-q"], root)
    run(["git", "add", "-A"], root)
    run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "init"], root)
    run(["dvc", "repro"], root)
    return root


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
    assert len(json.loads((project / "metrics/train/sft.json").read_text())) == 4


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
    params_path = project / "params.yaml"
    original = params_path.read_text()
    try:
        params = yaml.safe_load(original)
        params["sft"]["learning_rate"] = 0.002
        params_path.write_text(yaml.safe_dump(params, sort_keys=False))
        status = json.loads(run(["dvc", "status", "--json"], project).stdout)
        assert "sft" in status
        assert not {"prepare", "teach", "judge", "student"} & set(status)
        diff = json.loads(run(["dvc", "params", "diff", "--json"], project).stdout)
        assert diff["params.yaml"]["sft.learning_rate"]["new"] == 0.002
    finally:
        params_path.write_text(original)


@pytest.mark.slow
def test_compression_builds_a_deployed_model_and_a_quantize_param_reruns_only_what_follows(project):
    deployed = json.loads((project / "metrics/eval/deployed.json").read_text())
    assert deployed["examples"] == 20 and deployed["decode_tokens_per_s"] > 0 and deployed["model_bytes"] > 0
    assert json.loads((project / "models/deployed/card.json").read_text())["kind"] == "ort-genai"
    assert json.loads((project / "metrics/prune.json").read_text())["parameter_ratio"] <= 0.99
    assert "speedup_p50_vs_pytorch_fp32" in json.loads((project / "metrics/benchmark.json").read_text())
    assert "## Compression" in (project / "reports/report.md").read_text()
    params_path = project / "params.yaml"
    original = params_path.read_text()
    try:
        params = yaml.safe_load(original)
        params["quantize"]["block_size"] = 16
        params_path.write_text(yaml.safe_dump(params, sort_keys=False))
        ran = set(re.findall(r"Running stage '([^']+)'", run(["dvc", "repro"], project).stdout))
        assert ran == {"quantize", "evaluate@deployed", "benchmark", "report"}
    finally:
        params_path.write_text(original)
