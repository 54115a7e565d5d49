"""dvc.yaml must name every source file a stage runs, so that editing one reruns that stage
(and only the stages it can change): each stage's Python import closure, read statically,
must lie within its declared deps."""

from __future__ import annotations

import ast
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from import_graph import closure

ROOT = Path(__file__).resolve().parents[1]
PIPELINE = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]


def stage_definitions() -> dict[str, dict]:
    """name -> definition; a `foreach` stage counts once (its items share one deps list)."""
    return {name: stage.get("do", stage) for name, stage in PIPELINE.items()}


def script_of(stage: dict) -> Path:
    words = shlex.split(stage["cmd"])
    assert words[:2] == ["PYTHONPATH=src", "python"], f"expected `PYTHONPATH=src python stages/...`, got {stage['cmd']!r}"
    return ROOT / words[2]


def inert(path: Path) -> bool:
    """A package's `__init__.py` that holds only a docstring and constants: it cannot change
    what a stage produces (one that gains code must be listed like any module)."""
    if path.name != "__init__.py":
        return False
    body = ast.parse(path.read_text(encoding="utf-8")).body
    return all(isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) or
               isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) for node in body)


def covered(path: Path, deps: list[str]) -> bool:
    relative = path.relative_to(ROOT)
    return any(relative == Path(dep) or Path(dep) in relative.parents for dep in deps if "${" not in dep)


@pytest.mark.parametrize("name", sorted(stage_definitions()))
def test_every_source_file_a_stage_runs_is_one_of_its_deps(name):
    stage = stage_definitions()[name]
    script = script_of(stage)
    reached = {script, *closure(script)}
    missing = sorted(str(p.relative_to(ROOT)) for p in reached if not inert(p) and not covered(p, stage["deps"]))
    assert not missing, f"dvc.yaml: stage {name!r} runs these files but does not list them in deps: {missing}"


@pytest.mark.parametrize("name", sorted(stage_definitions()))
def test_every_source_dep_exists(name):
    sources = [dep for dep in stage_definitions()[name]["deps"] if dep.startswith(("src/", "stages/"))]
    assert [dep for dep in sources if not (ROOT / dep).exists()] == []


def test_the_params_module_is_a_dep_of_every_stage_that_loads_params():
    params_module = ROOT / "src/supertiny/params.py"
    for name, stage in stage_definitions().items():
        if params_module in closure(script_of(stage)):
            assert covered(params_module, stage["deps"]), name


def params_read(script: Path) -> set[str]:
    """`section` or `section.key` for each params value a stage script reads (`params.rft`,
    `params.prune.source`, `load_params().report`)."""
    text = script.read_text(encoding="utf-8")
    found = {".".join(filter(None, m)) for m in re.findall(r"\bparams\.([a-z_]+)(?:\.([a-z_]+))?", text)}
    found |= set(re.findall(r"load_params\(\)\.([a-z_]+)", text))
    return found - {"yaml"}


@pytest.mark.parametrize("name", sorted(stage_definitions()))
def test_every_param_a_stage_reads_is_declared(name):
    stage = stage_definitions()[name]
    declared = set(stage.get("params", []))
    undeclared = [key for key in params_read(script_of(stage)) if key not in declared and key.split(".")[0] not in declared]
    assert not undeclared, f"dvc.yaml: stage {name!r} reads params it does not declare: {sorted(undeclared)}"


TRAINING_STAGES = ("teach", "judge", "sft", "rft", "distill", "rl", "prune", "quantize")


def test_held_out_sets_are_deps_of_prepare_and_evaluate_and_of_no_training_stage():
    """A data file is not in any import closure: the task's hand-written sets must be deps of
    the stage that copies them and of the one that scores them, and of nothing that trains."""
    from supertiny.tasks import get_task

    stages = stage_definitions()
    sets = get_task(yaml.safe_load((ROOT / "params.yaml").read_text())["prepare"]["task"]).held_out_sets()
    assert sets
    for name, path in sets.items():
        assert covered(Path(path).resolve(), stages["prepare"]["deps"]), name
        assert f"data/task/{name}.jsonl" in stages["evaluate"]["deps"], name
        for stage in TRAINING_STAGES:
            assert not [dep for dep in stages[stage]["deps"] if name in dep], f"{stage} must not read the held-out set {name}"


def test_held_out_skip_checks_names_against_the_models_dvc_yaml_evaluates():
    """params.py validates evaluate.held_out_skip against EVALUATED_MODELS, a copy of the
    evaluate stage's foreach keys: the two lists must not drift apart."""
    from supertiny.params import EVALUATED_MODELS

    assert tuple(PIPELINE["evaluate"]["foreach"]) == EVALUATED_MODELS


def test_a_stage_imports_supertiny_from_the_checkout_it_runs_in(tmp_path):
    """A queued or --temp experiment runs in a copy of the project: with its cmd's PYTHONPATH=src
    it imports the copy's src/, not the workspace's editable install (which once trained the
    workspace's code under the copy's code hashes)."""
    copy = tmp_path / "exp-copy"
    shutil.copytree(ROOT / "src", copy / "src", ignore=shutil.ignore_patterns("__pycache__"))
    words = shlex.split(PIPELINE["prepare"]["cmd"])
    env = {**os.environ, **dict(word.split("=", 1) for word in words[: words.index("python")])}
    found = subprocess.run([sys.executable, "-c", "import supertiny; print(supertiny.__file__)"], cwd=copy, env=env,
                           capture_output=True, text=True, check=True).stdout.strip()
    assert Path(found).resolve().is_relative_to(copy.resolve()), found
