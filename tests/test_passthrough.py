"""A training stage switched off (0 steps) hands its input on: the same weights, a card
naming the source, skipped metrics, and no second scoring of those weights."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from model_folders import tiny_model_folder

ROOT = Path(__file__).resolve().parents[1]


def run_stage(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "stages" / args[0]), *args[1:]], cwd=cwd, capture_output=True, text=True)


def weights_digest(folder: Path) -> str:
    return hashlib.sha256((folder / "model.safetensors").read_bytes()).hexdigest()


def test_rft_and_rl_at_zero_steps_pass_the_sft_model_through_and_evaluate_does_not_rescore_it(tmp_path, tiny_student):
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["rft"]["max_steps"], params["rl"]["steps"] = 0, 0
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    tiny_model_folder(tiny_student, tmp_path / "models/sft")
    (tmp_path / "data/judged").mkdir(parents=True)
    (tmp_path / "data/judged/accepted.jsonl").write_text("")
    distill = run_stage(tmp_path, "distill.py")  # no distill.teacher: rl starts from rft
    assert distill.returncode == 0, distill.stderr

    for stage in ("rft.py", "rl.py"):
        result = run_stage(tmp_path, stage)
        assert result.returncode == 0, result.stderr
        assert "the same model as models/sft" in result.stdout + result.stderr
    for name in ("rft", "rl"):
        folder = tmp_path / "models" / name
        assert weights_digest(folder) == weights_digest(tmp_path / "models/sft")
        card = json.loads((folder / "card.json").read_text())
        assert card["kind"] == "hf" and card["same_as"] == "models/sft" and card["stage"] == name
        assert json.loads((tmp_path / f"metrics/{name}.json").read_text())["same_as"] == "models/sft"
        assert json.loads((tmp_path / f"metrics/train/{name}.json").read_text()) == []

    (tmp_path / "data/task").mkdir(parents=True)
    for split in ("test", "handwritten", "blind"):
        (tmp_path / f"data/task/{split}.jsonl").write_text("")
    evaluated = run_stage(tmp_path, "evaluate.py", "rl", "models/rl")
    assert evaluated.returncode == 0, evaluated.stderr
    assert json.loads((tmp_path / "metrics/eval/rl.json").read_text()) == {"skipped": True, "same_as": "models/sft"}
    assert (tmp_path / "data/eval/rl.jsonl").read_text() == ""
