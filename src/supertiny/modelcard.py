"""The small JSON card every model folder carries: who made it, from what, how big it is.

`kind` tells the runtime how to load the folder: `hf` (a transformers folder), `teacher`
(a teacher backend, no weights), or a deployed runtime added by the compression stage.
"""

from __future__ import annotations

import platform
from pathlib import Path
from typing import Any

from supertiny.jsonl import read_json, write_json

CARD_FILE = "card.json"


def write_card(folder: str | Path, *, kind: str, stage: str, inputs: dict[str, Any], params: dict[str, Any], **extra) -> dict:
    import importlib.metadata as md

    versions = {}
    for package in ("torch", "transformers", "trl", "peft", "onnxruntime"):
        try:
            versions[package] = md.version(package)
        except md.PackageNotFoundError:
            pass
    card = {
        "kind": kind,
        "stage": stage,
        "inputs": inputs,
        "params": params,
        **extra,
        "environment": {"python": platform.python_version(), **versions},
    }
    write_json(Path(folder) / CARD_FILE, card)
    return card


def read_card(folder: str | Path) -> dict:
    return read_json(Path(folder) / CARD_FILE)
