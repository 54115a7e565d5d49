"""Exact match against training steps, measured while sft trains.

Whether more steps would pay is the first question about a run on a fixed budget, and
generating on dev every few steps would cost minutes on 2 cores. Teacher-forced greedy
exact match (compress/fidelity) costs one forward pass per dev example: every
`sft.dev_curve_every` steps the callback scores the model as it is and writes the rows
(`step`, `dev_greedy_exact_match`, `dev_token_accuracy`) to a plot file for `dvc plots`.
It is stricter than `evaluate`'s order-free exact match (the answer must come out token for
token, calls in the teacher's order), so it reads as a lower bound that moves with it.
"""

from __future__ import annotations

from pathlib import Path

from transformers import TrainerCallback

from supertiny.compress.fidelity import greedy_match, torch_logits
from supertiny.jsonl import write_json


class DevCurve(TrainerCallback):
    """Scores the training model on teacher-forced dev `sequences` at step 0, every `every`
    steps and at the last step; `every` 0 scores the last step only."""

    def __init__(self, sequences: list[tuple[list[int], int]], every: int, path: str | Path):
        self.sequences, self.every, self.path = sequences, every, Path(path)
        self.rows: list[dict] = []

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        if self.every:
            self._score(model, state, 0)

    def on_step_end(self, args, state, control, model=None, **kwargs):
        step = state.global_step
        if step == state.max_steps or (self.every and step % self.every == 0):
            self._score(model, state, step)

    def on_train_end(self, args, state, control, **kwargs):
        if state.is_world_process_zero:
            write_json(self.path, self.rows)

    def last(self) -> dict:
        """The last row's scores (the trained model's), without the step."""
        return {key: value for key, value in (self.rows[-1] if self.rows else {}).items() if key != "step"}

    def _score(self, model, state, step: int) -> None:
        if not state.is_world_process_zero or not self.sequences or (self.rows and self.rows[-1]["step"] == step):
            return
        scores = greedy_match(torch_logits(model, self.sequences), self.sequences)
        model.train()  # torch_logits left it in eval mode
        self.rows.append({"step": step, "dev_greedy_exact_match": scores["greedy_exact_match"], "dev_token_accuracy": scores["token_accuracy"]})
