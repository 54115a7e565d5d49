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
    confidence: float | None = None  # how sure the model is of its answer (`answer_confidence`; runtimes that see logits)


CONFIDENCES = ("lowest_token", "answer")  # generation.confidence


def answer_confidence(logprobs: list[float], answer: Answer | None, method: str) -> float | None:
    """The answer's confidence from the log-probabilities of the tokens the model chose (its end
    of turn included; under a grammar, forced tokens have none).

    lowest_token: the weakest token's probability; one unsure token (a device id, a number) is
    enough to make a call wrong.
    answer: the probability the model gives its answer as exact match reads it: every token of
    a call answer (their product: each call, each value and the choice to stop), and only the
    first token of a reply, the choice to reply rather than call (a reply's wording is not
    scored, and its free text is where a model is least sure of the next token). Ranks right
    and wrong answers better (README, Cascade)."""
    if not logprobs:
        return None
    if method == "lowest_token":
        return round(math.exp(min(logprobs)), 6)
    if method == "answer":
        chosen = logprobs[:1] if isinstance(answer, str) else logprobs
        return float(f"{math.exp(sum(chosen)):.6g}")  # significant digits: a four-call answer's probability can be 1e-5
    raise ValueError(f"unknown confidence method {method!r} (one of {', '.join(CONFIDENCES)})")


class Predictor(Protocol):
    """Answers task examples. Batches (`batch_size` > 1) measure accuracy quickly; batch 1
    is the path whose latency the evaluation reports, as a deployed model would see it."""

    parameters: int | None

    def predict(self, examples: list[dict], batch_size: int = 1) -> list[Prediction]: ...
