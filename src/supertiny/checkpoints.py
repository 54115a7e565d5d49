"""Model folders as the pipeline writes them: transformers safetensors plus tokenizer, loaded
without remote code, and the precision to run them in.

Low-level on purpose: training, compression and the PyTorch runtime all load and save
models, and none of them should need the others to do it.
"""

from __future__ import annotations

from pathlib import Path

import torch

from supertiny.errors import SupertinyError

_BF16_FLAGS = ("avx512_bf16", "amx_bf16")


def load_model(folder: str | Path, dtype=torch.float32):
    """(model, tokenizer) of a folder saved by this pipeline (safetensors only, no remote code)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = Path(folder)
    if not (folder / "config.json").exists():
        raise SupertinyError(f"{folder}: not a model folder (no config.json)")
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=dtype, use_safetensors=True)
    return model, tokenizer


def save_model(model, tokenizer, folder: str | Path) -> None:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)


def count_parameters(model) -> int:
    """Distinct parameters (tied embeddings counted once)."""
    return sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())


def cpu_has_fast_bf16() -> bool:
    """bf16 roughly doubles CPU training and decoding speed where the CPU has bf16
    instructions; without them it is much slower than fp32."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return any(flag in flags for flag in _BF16_FLAGS)


def use_bf16(precision: str, device: str = "cpu") -> bool:
    """`precision` auto: bf16 where it is fast, a GPU that supports it or a CPU with bf16 instructions."""
    if precision != "auto":
        return precision == "bf16"
    return torch.cuda.is_bf16_supported() if device == "cuda" else cpu_has_fast_bf16()
