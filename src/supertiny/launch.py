"""Several training processes from the same `python stages/<name>.py`: with `train.processes`
above 1, a training stage re-runs itself under `accelerate launch`.

dvc.yaml runs each stage by that one command (dvc.lock records it), so the stage itself hands
over to accelerate: the same script and arguments, one process per device, the distributed
setup left to accelerate and trl's trainers (DDP, or FSDP / DeepSpeed by the accelerate config
file, `train.accelerate_config`). Every process trains; only the main one writes the model
folder, the metrics and the summary line, so the outputs are those of one process.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from supertiny.errors import SupertinyError
from supertiny.params import TrainParams

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
    sys.stdout.flush()
    raise SystemExit(subprocess.call(launch_command(train, sys.argv)))
