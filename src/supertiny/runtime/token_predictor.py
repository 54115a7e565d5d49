"""A predictor over any runtime that generates from token ids (onnxruntime-genai, llama.cpp).

The prompt is rendered by the student's own tokenizer and chat template, so every runtime
decodes from byte-identical prompts to training and evaluation; answers are parsed like
every other predictor's.
"""

from __future__ import annotations

from typing import Protocol

from supertiny.prompting import student_messages
from supertiny.runtime.predictor import Prediction
from supertiny.tool_format import parse_answer


class TokenRuntime(Protocol):
    def generate(self, ids: list[int], max_new_tokens: int) -> tuple[list[int], float, float]:
        """(new token ids without the end-of-turn token, prefill seconds, decode seconds)."""


class TokenPredictor:
    """Answers one request at a time, as a server would."""

    def __init__(self, runtime: TokenRuntime, tokenizer, task, max_new_tokens: int = 160, parameters: int | None = None, model_bytes: int | None = None):
        self.runtime, self.tokenizer, self.task = runtime, tokenizer, task
        self.max_new_tokens = max_new_tokens
        self.parameters, self.model_bytes = parameters, model_bytes

    def prompt_ids(self, example: dict) -> list[int]:
        messages = student_messages(self.task, example)
        return self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True, return_dict=False)

    def predict(self, examples: list[dict], batch_size: int = 1) -> list[Prediction]:
        predictions = []
        for example in examples:
            ids = self.prompt_ids(example)
            new, prefill, decode = self.runtime.generate(ids, self.max_new_tokens)
            text = self.tokenizer.decode(new, skip_special_tokens=True)
            predictions.append(Prediction(text, parse_answer(text), len(ids), len(new), prefill, decode))
        return predictions
