"""Predictors answer task examples; `load_predictor` picks one from a model folder's card.

Batched greedy decoding (left padding) measures accuracy quickly; `predict_one` is the
batch-1 path whose latency the evaluation reports, as a deployed model would see it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import torch

from supertiny.errors import SupertinyError
from supertiny.modelcard import read_card
from supertiny.prompting import student_messages
from supertiny.runtime.files import weights_bytes
from supertiny.tool_format import Answer, parse_answer


@dataclass
class Prediction:
    text: str
    answer: Answer | None
    prompt_tokens: int = 0
    new_tokens: int = 0
    prefill_seconds: float | None = None  # batch 1 only: to the first new token
    decode_seconds: float | None = None  # batch 1 only: the new tokens after the first


class Predictor(Protocol):
    parameters: int | None

    def predict(self, examples: list[dict], batch_size: int = 1) -> list[Prediction]: ...


class HFPredictor:
    """A transformers causal LM saved by the pipeline, generating greedily with a KV cache."""

    def __init__(self, folder: str | Path, task, max_new_tokens: int = 160, loaded=None, precision: str = "fp32"):
        """`loaded`: a (model, tokenizer) already in memory (e.g. mid-stage), instead of `folder`.
        `precision`: bf16 halves decoding time on CPUs with bf16 instructions (auto picks it there)."""
        from supertiny.train.common import use_bf16
        from supertiny.train.student import count_parameters, load_model

        self.model, self.tokenizer = loaded or load_model(folder)
        if use_bf16(precision):
            self.model.to(torch.bfloat16)
        self.model.eval()
        self.tokenizer.padding_side = "left"
        self.task = task
        self.max_new_tokens = max_new_tokens
        self.parameters = count_parameters(self.model)
        self.model_bytes = weights_bytes(folder) if folder else None

    def prompts(self, examples: list[dict]) -> list[str]:
        return [
            self.tokenizer.apply_chat_template(student_messages(self.task, e), tokenize=False, add_generation_prompt=True)
            for e in examples
        ]

    @torch.inference_mode()
    def predict(self, examples: list[dict], batch_size: int = 1) -> list[Prediction]:
        predictions = []
        for start in range(0, len(examples), batch_size):
            batch = self.prompts(examples[start : start + batch_size])
            encoded = self.tokenizer(batch, return_tensors="pt", padding=True, add_special_tokens=False)
            clock = _FirstTokenClock() if len(batch) == 1 else None
            output = self.model.generate(
                **encoded, max_new_tokens=self.max_new_tokens, do_sample=False, pad_token_id=self.tokenizer.pad_token_id,
                streamer=clock,
            )
            end = time.perf_counter()
            width = encoded["input_ids"].shape[1]
            for row, mask in zip(output, encoded["attention_mask"]):
                new = row[width:]
                new = new[new != self.tokenizer.pad_token_id] if self.tokenizer.pad_token_id is not None else new
                text = self.tokenizer.decode(new, skip_special_tokens=True)
                prediction = Prediction(text, parse_answer(text), int(mask.sum()), int(len(new)))
                if clock and clock.first:
                    prediction.prefill_seconds, prediction.decode_seconds = clock.first - clock.start, end - clock.first
                predictions.append(prediction)
        return predictions


class _FirstTokenClock:
    """A generate() streamer that only notes the time: generate hands it the prompt first,
    then each new token, so the second call marks the end of the prefill."""

    def __init__(self):
        self.start, self.first, self.calls = time.perf_counter(), None, 0

    def put(self, value) -> None:
        self.calls += 1
        if self.calls == 2:
            self.first = time.perf_counter()

    def end(self) -> None:
        pass


class TeacherPredictor:
    """The prototype teacher itself, answering through its tool loop."""

    parameters = None  # unknown: a rule set, or a model behind an API

    def __init__(self, card: dict, task):
        from supertiny.params import TeachParams
        from supertiny.teacher.backends import make_backend

        self.params = TeachParams(**card["params"])
        self.backend = make_backend(self.params, task)
        self.task = task

    def predict(self, examples: list[dict], batch_size: int = 1) -> list[Prediction]:
        from supertiny.teacher.loop import run_tool_loop

        predictions = []
        for example in examples:
            trace = run_tool_loop(self.backend, self.task, example, self.params.max_turns)
            answer = trace.final if trace.status == "ok" else None
            text = answer if isinstance(answer, str) else str(answer)
            predictions.append(Prediction(text, answer, trace.usage.prompt_tokens, trace.usage.completion_tokens))
        return predictions


def load_predictor(folder: str | Path, task, max_new_tokens: int = 160, precision: str = "fp32") -> Predictor:
    """The predictor for a model folder's kind; `precision` applies to PyTorch models only."""
    card = read_card(folder)
    kind = card.get("kind")
    if kind == "teacher":
        return TeacherPredictor(card, task)
    if kind == "hf":
        return HFPredictor(folder, task, max_new_tokens, precision=precision)
    if kind == "ort-genai":
        from supertiny.runtime.genai import GenaiPredictor

        return GenaiPredictor(folder, task, max_new_tokens)
    raise SupertinyError(f"{Path(folder) / 'card.json'}: unknown model kind {kind!r}")
