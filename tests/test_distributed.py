"""Several training processes (`train.processes`, supertiny.launch) proven on this machine's CPU:
the sft and distill stages, run as `python stages/<name>.py` with two processes, re-run
themselves under `accelerate launch` (DDP on gloo) and train as one process does with the same
global batch: the same optimizer steps, the same loss curve, one model folder, one metrics
file, one summary line. No GPU was at hand; this is what proves the multi-process path.
An accelerate config that shards the model (FSDP, DeepSpeed) stops the stage before any work."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from model_folders import tiny_model_folder
from presets import write_tiny_params
from supertiny.checkpoints import load_model
from supertiny.jsonl import write_jsonl
from supertiny.params import load_params
from supertiny.train.ckd import train_ckd
from supertiny.train.sft import sft_rows, train_sft

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
LOSS_TOLERANCE = 1e-4  # relative: the gradients are the same sums, all-reduced in another order


@pytest.fixture(scope="module")
def project(tmp_path_factory, tiny_student, teacher_traces):
    """A stage working folder on the tiny preset with `train.processes: 2`: accepted traces,
    models/base, and models/rft (the base again) for distill, taught by models/sft."""
    root = tmp_path_factory.mktemp("distributed")
    shutil.copy(ROOT / "params.yaml", root / "params.yaml")
    write_tiny_params(root / "params.yaml")
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["train"]["processes"] = 2
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    shutil.copytree(ROOT / "configs", root / "configs")
    write_jsonl(root / "data/judged/accepted.jsonl", teacher_traces)
    dev = [{**trace, "gold": trace["final"]} for trace in teacher_traces[:4]]  # sft's dev curve scores them
    write_jsonl(root / "data/task/dev.jsonl", dev)
    write_jsonl(root / "data/traces/dev.jsonl", dev)
    tiny_model_folder(tiny_student, root / "models/base")
    shutil.copytree(root / "models/base", root / "models/rft")
    return root


def run_stage(root: Path, name: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ, "PYTHONPATH": str(ROOT / "src"), "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "TRANSFORMERS_VERBOSITY": "info",  # the trainer's "Running training" lines: batch per device and in total
    }
    result = subprocess.run([sys.executable, str(ROOT / "stages" / f"{name}.py")], cwd=root, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def one_process(root: Path):
    """The same params on one process (the test's own)."""
    params = load_params(root / "params.yaml")
    return params, dataclasses.replace(params.train, processes=1)


def assert_same_run(root: Path, result, name: str, reference_curve: list[dict], reference_model) -> None:
    summaries = [line for line in result.stdout.splitlines() if line.startswith(f"{name}: ")]
    assert len(summaries) == 1, result.stdout  # the main process alone reports
    log = result.stderr
    assert "Instantaneous batch size per device = 2" in log and "Total train batch size (w. parallel, distributed & accumulation) = 4" in log
    curve = json.loads((root / f"metrics/train/{name}.json").read_text())
    print(name, "losses, 2 processes:", [row["loss"] for row in curve], "1 process:", [row["loss"] for row in reference_curve])
    assert [row["step"] for row in curve] == [row["step"] for row in reference_curve] != []
    for ours, theirs in zip(curve, reference_curve):
        assert ours["loss"] == pytest.approx(theirs["loss"], rel=LOSS_TOLERANCE), (curve, reference_curve)
    assert json.loads((root / f"metrics/{name}.json").read_text())["steps"] == len(reference_curve)
    trained, _ = load_model(root / f"models/{name}")
    for (key, ours), theirs in zip(trained.state_dict().items(), reference_model.state_dict().values()):
        assert torch.allclose(ours, theirs, atol=1e-5), key


def test_two_processes_train_sft_and_distill_as_one_does(project, task, tmp_path):
    params, single = one_process(project)
    rows = sft_rows(task, [json.loads(line) for line in (project / "data/judged/accepted.jsonl").read_text().splitlines()],
                    params.sft.max_examples, params.sft.seed, params.sft.turns_per_sequence)

    result = run_stage(project, "sft")
    model, tokenizer = load_model(project / "models/base")
    train_sft(model, tokenizer, rows, params.sft, single, str(tmp_path / "work"), str(tmp_path / "sft.json"))
    assert_same_run(project, result, "sft", json.loads((tmp_path / "sft.json").read_text()), model)
    assert sorted(p.name for p in (project / "models").iterdir()) == ["base", "rft", "sft"]

    assert params.distill.teacher == "models/sft"
    result = run_stage(project, "distill")
    student, _ = load_model(project / "models/rft")
    teacher, _ = load_model(project / "models/sft")
    rows = sft_rows(task, [json.loads(line) for line in (project / "data/judged/accepted.jsonl").read_text().splitlines()],
                    params.distill.max_examples, params.distill.seed)
    train_ckd(student, teacher, tokenizer, rows, params.distill, params.distill, single, str(tmp_path / "distill.json"))
    assert_same_run(project, result, "distill", json.loads((tmp_path / "distill.json").read_text()), student)


def test_asking_for_cuda_without_a_gpu_stops_before_any_work():
    from supertiny.device import resolve_device
    from supertiny.errors import SupertinyError

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    assert resolve_device("auto") == "cpu"
    with pytest.raises(SupertinyError, match="train.device is cuda, but torch sees no CUDA device"):
        resolve_device("cuda")


FSDP_CONFIG = """\
compute_environment: LOCAL_MACHINE
distributed_type: FSDP
num_machines: 1
mixed_precision: 'no'
fsdp_config:
  fsdp_version: 1
  fsdp_sharding_strategy: FULL_SHARD
  fsdp_auto_wrap_policy: TRANSFORMER_BASED_WRAP
  fsdp_state_dict_type: FULL_STATE_DICT
  fsdp_use_orig_params: true
"""


def test_a_sharding_accelerate_config_stops_the_stage_before_any_work(tmp_path):
    """FSDP is refused in one line before accelerate launch (on the CPU accelerate 1.15 would
    quietly train DDP under it; see supertiny.launch.UNSUPPORTED); DDP's own config passes."""
    from supertiny.errors import SupertinyError
    from supertiny.launch import check_accelerate_config

    check_accelerate_config(str(ROOT / "configs/accelerate/ddp.yaml"))
    (tmp_path / "deepspeed.json").write_text(json.dumps({"distributed_type": "DEEPSPEED", "deepspeed_config": {"zero_stage": 3}}))
    with pytest.raises(SupertinyError, match="distributed_type DEEPSPEED is not supported yet: deepspeed is not installed"):
        check_accelerate_config(str(tmp_path / "deepspeed.json"))

    shutil.copy(ROOT / "params.yaml", tmp_path / "params.yaml")
    write_tiny_params(tmp_path / "params.yaml")
    params = yaml.safe_load((tmp_path / "params.yaml").read_text())
    params["train"].update(processes=2, accelerate_config="fsdp.yaml")
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    (tmp_path / "fsdp.yaml").write_text(FSDP_CONFIG)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    result = subprocess.run([sys.executable, str(ROOT / "stages/sft.py")], cwd=tmp_path, capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode != 0
    errors = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    assert len(errors) == 1 and "train.accelerate_config 'fsdp.yaml': distributed_type FSDP is not supported yet: " in errors[0], errors
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deepspeed.json", "fsdp.yaml", "params.yaml"]  # no model, metrics or data written
