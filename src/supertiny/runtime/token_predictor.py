"""A predictor over any runtime that generates from token ids (onnxruntime-genai, llama.cpp).

The prompt is rendered by `prompting.prompt_ids` with the student's own tokenizer, so every
runtime decodes from byte-identical prompts to training and evaluation; answers are parsed like
every other predictor's.
"""

from __future__ import annotations

from typing import Protocol

from supertiny.prompting import prompt_ids
from supertiny.runtime.prediction import Prediction, answer_confidence
from supertiny.tasks import example_tools
from supertiny.tool_format import parse_answer


class TokenRuntime(Protocol):
    def generate(self, ids: list[int], max_new_tokens: int) -> tuple[list[int], float, float, list[float]]:
        """(new token ids without the end-of-turn token, prefill seconds, decode seconds, log-probability
        of each generated token including the end of turn; empty where the runtime does not expose logits)."""


class TokenPredictor:
    """Answers one request at a time, as a server would."""

    def __init__(self, runtime: TokenRuntime, tokenizer, task, max_new_tokens: int, parameters: int | None = None, model_bytes: int | None = None,
                 confidence: str = "lowest_token"):
        self.runtime, self.tokenizer, self.task = runtime, tokenizer, task
        self.max_new_tokens, self.confidence = max_new_tokens, confidence
        self.parameters, self.model_bytes = parameters, model_bytes

    def grammar(self, example: dict) -> str | None:
        """The grammar this example's answer is decoded under; None: unconstrained."""
        return None

    def predict(self, examples: list[dict], batch_size: int = 1) -> list[Prediction]:
        predictions = []
        for example in examples:
            ids = prompt_ids(self.tokenizer, self.task, example)
            grammar = self.grammar(example)
            generated = self.runtime.generate(ids, self.max_new_tokens) if grammar is None else self.runtime.generate(ids, self.max_new_tokens, grammar)
            new, prefill, decode, logprobs = generated
            text = self.tokenizer.decode(new, skip_special_tokens=True)
            answer = parse_answer(text, example_tools(self.task, example))
            prediction = Prediction(text, answer, len(ids), len(new), prefill, decode, answer_confidence(logprobs, answer, self.confidence))
            predictions.append(prediction)
        return predictions
