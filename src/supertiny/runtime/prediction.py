"""What every predictor returns, and the one method every predictor has.

Kept apart from the runtimes so that the evaluation, the server and the deployed runtime
can name a prediction without importing torch or any runtime.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from supertiny.tool_format import Answer


@dataclass
class Prediction:
    text: str
    answer: Answer | None
    prompt_tokens: int = 0
    new_tokens: int = 0
    prefill_seconds: float | None = None  # batch 1 only: to the first new token
    decode_seconds: float | None = None  # batch 1 only: the new tokens after the first


class Predictor(Protocol):
    """Answers task examples. Batches (`batch_size` > 1) measure accuracy quickly; batch 1
    is the path whose latency the evaluation reports, as a deployed model would see it."""

    parameters: int | None

    def predict(self, examples: list[dict], batch_size: int = 1) -> list[Prediction]: ...
