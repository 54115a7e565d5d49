"""What every trainer here shares: trl config arguments for the CPU or GPUs, training curves and their metrics,
the completion-only loss."""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from transformers import TrainerCallback

from supertiny.checkpoints import use_bf16
from supertiny.device import resolve_device
from supertiny.jsonl import write_json
from supertiny.params import TrainParams


def per_device_batch(batch_size: int, train: TrainParams) -> int:
    """The params' batch sizes are global: each of `train.processes` processes takes its share
    (params.py checks they divide), so a run on N processes takes the same optimizer steps."""
    return batch_size // train.processes


def training_kwargs(precision: str, seed: int, train: TrainParams) -> dict:
    """Arguments every trl config needs here: trl defaults to bf16 and gradient checkpointing;
    the device is `train.device`'s (on the CPU exactly the arguments of the CPU-only code)."""
    device = resolve_device(train.device)
    return {
        "use_cpu": device == "cpu",
        "bf16": use_bf16(precision, device),
        "fp16": False,
        "gradient_checkpointing": False,  # trl's default is True: a third slower here, and no memory pressure
        "report_to": "none",
        "save_strategy": "no",
        "logging_steps": 1,
        "seed": seed,
        "data_seed": seed,
        "dataloader_num_workers": 0,
    }


class TrainingCurves(TrainerCallback):
    """Records the trainer's logged numbers per step into a JSON plot file for `dvc plots`.

    (dvclive would do this too, but inside a DVC stage it probes git and, in a repository
    without commits, crashes; a list of rows is all `dvc plots` needs.)
    """

    def __init__(self, path: str | Path, keys: tuple[str, ...] = ("loss", "learning_rate", "grad_norm")):
        self.path, self.keys = Path(path), keys
        self.rows: list[dict] = []

    def on_log(self, args, state, control, logs=None, **kwargs):
        row = {k: round(float(v), 6) for k, v in (logs or {}).items() if k in self.keys and isinstance(v, (int, float))}
        if row:
            self.rows.append({"step": state.global_step, **row})

    def on_train_end(self, args, state, control, **kwargs):
        if state.is_world_process_zero:  # every process logs the same gathered numbers; one writes them
            write_json(self.path, self.rows)

    def last(self, key: str) -> float | None:
        return next((row[key] for row in reversed(self.rows) if key in row), None)


def trainer_metrics(result, curves: TrainingCurves, prefix: str = "") -> dict:
    """What every training stage reports of a finished `trainer.train()`: mean and last
    logged loss, steps, wall time, and the last value of each other curve it recorded
    (e.g. `final_teacher_agreement`); `prefix` names them within a stage's metrics."""
    metrics = {
        "train_loss": round(float(result.training_loss), 4),
        "steps": int(result.global_step),
        **{f"final_{key}": curves.last(key) for key in curves.keys if key not in ("learning_rate", "grad_norm") and curves.last(key) is not None},
        "train_seconds": round(float(result.metrics.get("train_runtime", 0.0)), 1),
    }
    return {prefix + key: value for key, value in metrics.items()}


def completion_hidden_states(model, inputs: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """(hidden states that predict a labelled token, those tokens): the backbone runs on the
    whole sequence, but only completion positions go through the LM head."""
    labels = inputs["labels"][:, 1:]
    backbone_inputs = {k: v for k, v in inputs.items() if k in ("input_ids", "attention_mask", "position_ids")}
    if isinstance(model, torch.nn.parallel.DistributedDataParallel):
        # several processes: DDP syncs gradients only through its own forward (the LM head then scores one position)
        output = model(**backbone_inputs, use_cache=False, logits_to_keep=1, output_hidden_states=True)
        hidden = output.hidden_states[-1][:, :-1]  # transformers puts the final-norm output, last_hidden_state, last
    else:
        hidden = model.base_model(**backbone_inputs, use_cache=False).last_hidden_state[:, :-1]
    mask = labels != -100
    return hidden[mask], labels[mask]


class CompletionOnlyLossMixin:
    """Cross-entropy on completion tokens only, through the LM head on those positions only.

    On CPU, trl's fused LM head scores every position in recomputed tiles; the prompt is
    ~85% of our tokens, so projecting only the completion makes a SmolLM2 step 2.4x faster
    (measured: 6.1 s against 14.3 s for 8 x 260 tokens, bf16, 2 cores) for the same loss.
    """

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        # accelerate applies autocast by wrapping model.forward; the backbone call below bypasses it
        with self.accelerator.autocast():
            hidden, targets = completion_hidden_states(model, inputs)
            logits = self.accelerator.unwrap_model(model).get_output_embeddings()(hidden).float()
        total = F.cross_entropy(logits, targets, reduction="sum")
        count = num_items_in_batch if num_items_in_batch is not None else targets.numel()
        loss = total / torch.as_tensor(count, device=total.device).clamp(min=1)
        if self.accelerator.num_processes > 1 and num_items_in_batch is not None:
            loss = loss * self.accelerator.num_processes  # `count` is all processes' tokens and DDP averages: as transformers' own loss does
        if targets.numel():
            accuracy = (logits.argmax(-1) == targets).float().mean().item()
            self._metrics["train" if model.training else "eval"]["mean_token_accuracy"].append(accuracy)
        return (loss, {"logits": logits}) if return_outputs else loss
