"""The size of a model folder as a server would load it: weights and graph files only."""

from __future__ import annotations

from pathlib import Path

WEIGHT_PATTERNS = ("*.safetensors", "*.onnx", "*.onnx.data", "*.gguf")


def weights_bytes(folder: str | Path) -> int:
    return sum(path.stat().st_size for pattern in WEIGHT_PATTERNS for path in Path(folder).glob(pattern))
