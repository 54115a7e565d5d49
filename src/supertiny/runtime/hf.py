"""A transformers model the pipeline saved, answering in PyTorch: the training stages'
models, and the baseline the deployed runtime is measured against."""

from __future__ import annotations

import time
from pathlib import Path

import torch

from supertiny.checkpoints import count_parameters, load_model, use_bf16
from supertiny.prompting import END_OF_TURN, prompt_text
from supertiny.runtime.files import weights_bytes
from supertiny.runtime.prediction import Prediction, answer_confidence
from supertiny.tasks import example_tools
from supertiny.tool_format import parse_answer


class HFPredictor:
    """Greedy generation with a KV cache; batches are left-padded."""

    def __init__(self, folder: str | Path | None, task, max_new_tokens: int, loaded=None, precision: str = "fp32", device: str = "cpu",
                 confidence: str = "lowest_token"):
        """`loaded`: a (model, tokenizer) already in memory (e.g. mid-stage), instead of `folder`.
        `precision`: bf16 halves decoding time on CPUs with bf16 instructions (auto picks it there, and on GPUs).
        `device`: cpu or cuda (`train.device`, resolved). `confidence`: `answer_confidence`'s method."""
        self.model, self.tokenizer = loaded or load_model(folder)
        self.model.to(device)
        if use_bf16(precision, device):
            self.model.to(torch.bfloat16)
        self.model.eval()
        self.tokenizer.padding_side = "left"
        self.task = task
        self.max_new_tokens, self.confidence = max_new_tokens, confidence
        self.parameters = count_parameters(self.model)
        self.model_bytes = weights_bytes(folder) if folder else None

    @torch.inference_mode()
    def predict(self, examples: list[dict], batch_size: int = 1) -> list[Prediction]:
        predictions = []
        for start in range(0, len(examples), batch_size):
            chunk = examples[start : start + batch_size]
            batch = [prompt_text(self.tokenizer, self.task, e) for e in chunk]
            encoded = self.tokenizer(batch, return_tensors="pt", padding=True, add_special_tokens=False).to(self.model.device)
            clock = _FirstTokenClock() if len(batch) == 1 else None
            output = self.model.generate(
                **encoded, max_new_tokens=self.max_new_tokens, do_sample=False, pad_token_id=self.tokenizer.pad_token_id,
                streamer=clock, return_dict_in_generate=True, output_logits=True,
            )
            end = time.perf_counter()
            width = encoded["input_ids"].shape[1]
            logprobs = self._answer_logprobs(output.sequences[:, width:], output.logits)
            for example, row, mask, row_logprobs in zip(chunk, output.sequences, encoded["attention_mask"], logprobs):
                new = row[width:]
                new = new[new != self.tokenizer.pad_token_id] if self.tokenizer.pad_token_id is not None else new
                text = self.tokenizer.decode(new, skip_special_tokens=True)
                answer = parse_answer(text, example_tools(self.task, example))
                prediction = Prediction(text, answer, int(mask.sum()), int(len(new)), confidence=answer_confidence(row_logprobs, answer, self.confidence))
                if clock and clock.first:
                    prediction.prefill_seconds, prediction.decode_seconds = clock.first - clock.start, end - clock.first
                predictions.append(prediction)
        return predictions

    def _answer_logprobs(self, new: torch.Tensor, logits: tuple[torch.Tensor, ...]) -> list[list[float]]:
        """Each row's log-probability of its generated tokens, up to and including its end of turn
        (the padding after it was not chosen by the model)."""
        chosen = torch.stack([torch.log_softmax(step.float(), -1).gather(1, new[:, i : i + 1])[:, 0] for i, step in enumerate(logits)], 1)
        end_id = self.tokenizer.convert_tokens_to_ids(END_OF_TURN)
        rows = []
        for tokens, values in zip(new.tolist(), chosen.tolist()):
            length = tokens.index(end_id) + 1 if end_id in tokens else len(tokens)
            rows.append(values[:length])
        return rows


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
