"""Several training processes from the same `python stages/<name>.py`: with `train.processes`
above 1, a training stage re-runs itself under `accelerate launch`.

dvc.yaml runs each stage by that one command (dvc.lock records it), so the stage itself hands
over to accelerate: the same script and arguments, one process per device, the distributed
setup left to accelerate and trl's trainers (DDP, by the accelerate config file
`train.accelerate_config`). Every process trains; only the main one writes the model folder,
the metrics and the summary line, so the outputs are those of one process.

Sharded training (FSDP, DeepSpeed ZeRO, Megatron-LM) is refused before any work, see
`UNSUPPORTED`: accelerate 1.15 runs FSDP only on accelerators (on the CPU it quietly trains
DDP instead, so nothing here could prove a sharded run), and the losses and the saving here
assume each process holds the whole model.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

from supertiny.errors import SupertinyError
from supertiny.params import TrainParams

# accelerate's `distributed_type`s that shard the model, and why each is not run here yet
UNSUPPORTED = {
    "FSDP": "the losses and the model saving assume each process holds the whole model, and accelerate "
            "runs FSDP only on GPUs (on the CPU it silently trains DDP), so no test here can prove a sharded run",
    "DEEPSPEED": "deepspeed is not installed, and sharded (ZeRO) saving is not handled",
    "MEGATRON_LM": "tensor/pipeline parallel training is not handled",
}
LAUNCHED = ("LOCAL_RANK", "WORLD_SIZE")  # what accelerate launch (torchrun) sets in each process it starts


def under_launcher() -> bool:
    return any(name in os.environ for name in LAUNCHED)


def is_main_process() -> bool:
    """The process that writes outputs: rank 0, or the only one."""
    return os.environ.get("RANK", "0") == "0"


def launch_command(train: TrainParams, argv: list[str]) -> list[str]:
    """`accelerate launch` of this stage script (`argv` as the stage got it) on `train.processes` processes."""
    return [
        sys.executable, "-m", "accelerate.commands.accelerate_cli", "launch", "--config_file", train.accelerate_config,
        "--num_processes", str(train.processes), "--num_machines", "1", "--main_process_port", "0", *argv,
    ]


def relaunch_under_accelerate(train: TrainParams) -> None:
    """With `train.processes` > 1, outside a launcher: run this stage under accelerate launch
    and exit with its exit code. With one process, or inside the launched processes, return."""
    if train.processes == 1 or under_launcher():
        return
    if not Path(train.accelerate_config).is_file():
        raise SupertinyError(f"params.yaml: train.accelerate_config {train.accelerate_config!r}: file not found")
    check_accelerate_config(train.accelerate_config)
    sys.stdout.flush()
    raise SystemExit(subprocess.call(launch_command(train, sys.argv)))


def check_accelerate_config(path: str) -> None:
    """Stop before any work on an accelerate config file whose distributed_type shards the model."""
    try:
        config = yaml.safe_load(Path(path).read_text()) or {}  # accelerate's yaml or json (json is yaml)
    except yaml.YAMLError as error:
        raise SupertinyError(f"params.yaml: train.accelerate_config {path!r}: not a yaml/json accelerate config ({' '.join(str(error).split())})") from None
    kind = str(config.get("distributed_type", "")).upper() if isinstance(config, dict) else ""
    if kind in UNSUPPORTED:
        raise SupertinyError(f"params.yaml: train.accelerate_config {path!r}: distributed_type {kind} is not supported yet: {UNSUPPORTED[kind]}")
