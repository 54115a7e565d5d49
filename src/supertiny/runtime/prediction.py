"""What every predictor returns, and the one method every predictor has.

Kept apart from the runtimes so that the evaluation, the server and the deployed runtime
can name a prediction without importing torch or any runtime.
"""

from __future__ import annotations

import math
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
    confidence: float | None = None  # the lowest probability the model gave a token of its answer (runtimes that see logits)


def lowest_token_probability(logprobs: list[float]) -> float | None:
    """The answer's confidence: one unsure token (a device id, a number) is enough to make a
    structured answer wrong, so the weakest token speaks for the whole answer."""
    return round(math.exp(min(logprobs)), 6) if logprobs else None


class Predictor(Protocol):
    """Answers task examples. Batches (`batch_size` > 1) measure accuracy quickly; batch 1
    is the path whose latency the evaluation reports, as a deployed model would see it."""

    parameters: int | None

    def predict(self, examples: list[dict], batch_size: int = 1) -> list[Prediction]: ...
