"""Which device a stage's PyTorch work runs on (`train.device`): what an engineer moving to a
GPU node expects, CUDA when torch sees one, and the CPU path unchanged where it does not."""

from __future__ import annotations

import os

import torch

from supertiny.errors import SupertinyError


def resolve_device(setting: str) -> str:
    """"cuda" or "cpu" for `train.device` (auto | cpu | cuda); asking for CUDA where torch sees
    none fails before any work, rather than training for an hour on the CPU."""
    if setting == "cuda" and not torch.cuda.is_available():
        raise SupertinyError("params.yaml: train.device is cuda, but torch sees no CUDA device (auto falls back to the CPU)")
    if setting == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return setting


def torch_device(device: str) -> torch.device:
    """This process's device: under `accelerate launch` each process takes the GPU of its local rank."""
    return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0"))) if device == "cuda" else torch.device("cpu")
