"""`load_predictor`: the predictor for whatever model folder the pipeline wrote, chosen by
its card's kind. Each kind's module is imported only when a folder of that kind is loaded,
so the deployed runtime loads without torch and the teacher without any model runtime."""

from __future__ import annotations

from pathlib import Path

from supertiny.errors import SupertinyError
from supertiny.modelcard import CARD_FILE, read_card
from supertiny.runtime.prediction import Predictor


def load_predictor(
    folder: str | Path, task, max_new_tokens: int, precision: str = "fp32", reuse_prefix: bool = False, constrained: bool = False,
    device: str = "cpu", confidence: str = "lowest_token",
) -> Predictor:
    """`max_new_tokens` applies to generating models, `precision` and `device` (cpu | cuda) to PyTorch models only,
    `reuse_prefix` (keep the shared prompt prefix's KV cache between requests) and `constrained`
    (decode under the request's answer grammar, `generation.constrained`) to the deployed runtime,
    `confidence` (`generation.confidence`, how each answer's confidence is computed) to both."""
    kind = read_card(folder).get("kind")
    if kind == "teacher":
        from supertiny.runtime.teacher import TeacherPredictor

        return TeacherPredictor(folder, task)
    if kind == "hf":
        from supertiny.runtime.hf import HFPredictor

        return HFPredictor(folder, task, max_new_tokens, precision=precision, device=device, confidence=confidence)
    if kind == "ort-genai":
        from supertiny.runtime.genai import GenaiPredictor

        return GenaiPredictor(folder, task, max_new_tokens, reuse_prefix, constrained, confidence)
    raise SupertinyError(f"{Path(folder) / CARD_FILE}: unknown model kind {kind!r}")
