"""Temporary DVC projects for the tests: the `tiny` preset of the whole graph, and `dvc`/`git` runs.

Building the tiny project runs every stage (minutes on 2 cores), so conftest builds it once
per session and every DVC test shares it (see `project` in conftest.py).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

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
GIT_USER = ["-c", "user.name=t", "-c", "user.email=t@t"]


def tiny_params(path: Path) -> None:
    params = yaml.safe_load(path.read_text())
    for section, values in TINY.items():
        params[section].update(values)
    path.write_text(yaml.safe_dump(params, sort_keys=False))


def run(args: list[str], cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run a command with this venv's `dvc`/`python` first on PATH; fail the test with its output."""
    env = {**os.environ, "DVC_NO_ANALYTICS": "1", "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", **(env or {})}
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, env=env)
    assert result.returncode == 0, f"{' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def git_commit(repo: Path, message: str) -> None:
    run(["git", "add", "-A"], repo)
    run(["git", *GIT_USER, "commit", "-q", "-m", message], repo)


def build_tiny_project(root: Path) -> Path:
    """A git repo holding this repository's pipeline on the tiny preset, after a real `dvc repro`.

    Only the pipeline's sources are committed; dvc.lock and the outputs are left as
    `dvc repro` wrote them.
    """
    for name in COPIED:
        source, target = ROOT / name, root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if source.is_dir() else shutil.copy)(source, target)
    shutil.rmtree(root / "src" / "supertiny.egg-info", ignore_errors=True)
    tiny_params(root / "params.yaml")
    run(["git", "init", "-q"], root)
    git_commit(root, "init")
    run(["dvc", "repro"], root)
    return root
