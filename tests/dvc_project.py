"""Temporary DVC projects for the tests: the `tiny` preset of the whole graph, and `dvc`/`git` runs.

Building the tiny project runs every stage (minutes on 2 cores), so conftest builds it once
per session and every DVC test shares it (see `project` in conftest.py).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml
from presets import write_tiny_params

ROOT = Path(__file__).resolve().parents[1]
COPIED = ["dvc.yaml", "params.yaml", "stages", "src", "configs", "examples", "reports/scaling.json", ".dvc/config", ".dvcignore", ".gitignore"]
GIT_USER = ["-c", "user.name=t", "-c", "user.email=t@t"]


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
    tiny_project(root)
    run(["dvc", "repro"], root)
    return root


def tiny_project(root: Path) -> Path:
    """The same repo before its `dvc repro` (sources committed, nothing built)."""
    for name in COPIED:
        source, target = ROOT / name, root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if source.is_dir() else shutil.copy)(source, target)  # __pycache__ too, as a user's checkout has
    shutil.rmtree(root / "src" / "supertiny.egg-info", ignore_errors=True)
    write_tiny_params(root / "params.yaml")
    run(["git", "init", "-q"], root)
    git_commit(root, "init")
    return root


def keep_as_built(root: Path) -> Path:
    """Save the dvc.lock and metrics a fresh build wrote beside the project (tests change the
    project later); `as_built_lock` and `as_built_metrics` read them back."""
    shutil.copy(root / "dvc.lock", root.parent / "dvc.lock.as-built")
    shutil.copytree(root / "metrics", root.parent / "metrics.as-built")
    return root


def as_built_lock(root: Path) -> dict:
    return yaml.safe_load((root.parent / "dvc.lock.as-built").read_text())


def as_built_metrics(root: Path) -> dict[str, dict]:
    """metrics/<name>.json -> its values, as the fresh build wrote them."""
    folder = root.parent / "metrics.as-built"
    return {str(p.relative_to(folder)): json.loads(p.read_text()) for p in sorted(folder.rglob("*.json"))}


def output_hashes(lock: dict) -> dict[str, str]:
    """path -> md5 of every output a dvc.lock records (models, data sets, metrics, plots)."""
    return {out["path"]: out["md5"] for stage in lock["stages"].values() for out in stage.get("outs", [])}
