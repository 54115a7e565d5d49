"""Supervised fine-tuning on the judge's accepted traces (sequence-level distillation).

The student learns the teacher's *final* answer in one step from the compact prompt: the
helper-tool turns of the prototype are dropped. The loss covers the completion only, and
the completion ends with `<|im_end|>`, so the model learns to stop.
"""

from __future__ import annotations

import random
import sys

from datasets import Dataset
from transformers.trainer_pt_utils import LengthGroupedSampler
from trl import SFTConfig, SFTTrainer

from supertiny.params import TrainingParams, TrainParams
from supertiny.changes import student_answer
from supertiny.errors import SupertinyError
from supertiny.prompting import END_OF_TURN, answer_message, student_messages
from supertiny.train.common import CompletionOnlyLossMixin, TrainingCurves, per_device_batch, trainer_metrics, training_kwargs


class CompletionSFTTrainer(CompletionOnlyLossMixin, SFTTrainer):
    """trl's SFTTrainer with the LM head applied to completion positions only."""

    def _get_train_sampler(self, train_dataset=None):
        """Length groups of the global batch: transformers sizes them by the per-device batch, so
        N processes would train on other batches than one process does with the same params."""
        sampler = super()._get_train_sampler(train_dataset)
        if self.args.world_size > 1 and isinstance(sampler, LengthGroupedSampler):
            sampler.batch_size *= self.args.world_size
        return sampler


def sft_rows(task, traces: list[dict], max_examples: int | None, seed: int, turns_per_sequence: int = 1) -> list[dict]:
    """Prompt/completion rows, one a trace; with `turns_per_sequence` > 1, conversations whose
    turns are up to that many traces sharing a system prompt (one home, one tool set). The
    context is ~85% of a trace's tokens: read once for four answers, a smart_home trace costs
    about half the compute (README, packed training). Every assistant turn is trained; the
    first is exactly what serving asks, the later ones read earlier, unrelated turns first.
    A conversation longer than `max_length` loses its last turns to trl's truncation."""
    pairs = [(student_messages(task, trace), answer_message(student_answer(trace))) for trace in traces]
    rng = random.Random(seed)
    rng.shuffle(pairs)
    pairs = pairs[:max_examples] if max_examples else pairs
    if turns_per_sequence == 1:
        return [{"prompt": prompt, "completion": [answer]} for prompt, answer in pairs]
    by_system: dict[str, list[tuple[list[dict], dict]]] = {}
    for prompt, answer in pairs:
        by_system.setdefault(prompt[0]["content"], []).append((prompt, answer))
    conversations = []
    for group in by_system.values():
        for start in range(0, len(group), turns_per_sequence):
            turns = group[start : start + turns_per_sequence]
            messages = [turns[0][0][0]]  # the shared system message
            for prompt, answer in turns:
                messages += [*prompt[1:], answer]
            conversations.append({"messages": messages})
    rng.shuffle(conversations)
    return conversations


def trained_answers(rows: list[dict]) -> int:
    """The answers `rows` train on: one a prompt/completion row, every assistant turn of a conversation."""
    return sum(sum(m["role"] == "assistant" for m in row["messages"]) if "messages" in row else 1 for row in rows)


def make_sft_trainer(
    model, tokenizer, rows: list[dict], params: TrainingParams, train: TrainParams, work_dir: str, callbacks=(), trainer_class=None,
    neftune_noise_alpha: float | None = None, **trainer_kwargs,
) -> SFTTrainer:
    """An SFT trainer on prompt/completion rows (or packed conversations, sft_rows); `trainer_class`
    swaps the loss (e.g. CKDTrainer). `train`: the device, and the processes that share each batch;
    `neftune_noise_alpha`: NEFTune's embedding noise (the Trainer's own hook, removed when training ends)."""
    if not rows:
        raise SupertinyError("no training rows: nothing to fine-tune on")
    config = SFTConfig(
        output_dir=work_dir,
        max_steps=params.max_steps,
        per_device_train_batch_size=per_device_batch(params.batch_size, train),
        gradient_accumulation_steps=params.grad_accum,
        learning_rate=params.learning_rate,
        lr_scheduler_type="cosine",
        warmup_steps=params.warmup_ratio,  # a float below 1 is a fraction of the steps
        weight_decay=params.weight_decay,
        max_length=params.max_length,
        completion_only_loss=True,  # prompt/completion rows
        assistant_only_loss="messages" in rows[0],  # conversations: every assistant turn, by the template's generation tags
        pad_to_multiple_of=32,  # fewer distinct shapes: oneDNN re-plans its kernels for every new one
        train_sampling_strategy="group_by_length",  # batches of similar length: 18% fewer padded tokens on smart_home
        neftune_noise_alpha=neftune_noise_alpha,
        **training_kwargs(params.precision, params.seed, train),
    )
    return (trainer_class or CompletionSFTTrainer)(
        model=model, args=config, train_dataset=Dataset.from_list(rows), processing_class=tokenizer,
        callbacks=list(callbacks), **trainer_kwargs,
    )


def answers_ending_in_labels(trainer, tokenizer) -> int:
    """The answers whose end of turn is still a label after trl's truncation to `max_length`;
    fewer than `trained_answers`: the rest were cut off and train in part or, with nothing of
    them left, not at all (long contexts, many turns)."""
    end_of_turn = tokenizer.convert_tokens_to_ids(END_OF_TURN)
    return sum(list(labels).count(end_of_turn) for labels in trainer.train_dataset["labels"])


def train_sft(model, tokenizer, rows: list[dict], params: TrainingParams, train: TrainParams, work_dir: str, curves_path: str,
              callbacks=(), neftune_noise_alpha: float | None = None) -> dict:
    curves = TrainingCurves(curves_path)
    trainer = make_sft_trainer(model, tokenizer, rows, params, train, work_dir, [curves, *callbacks], neftune_noise_alpha=neftune_noise_alpha)
    answers = trained_answers(rows)
    cut = answers - answers_ending_in_labels(trainer, tokenizer)
    if cut:
        print(f"supertiny: warning: {cut} of {answers} answers run past max_length ({params.max_length} tokens) and train in part or "
              "not at all: raise max_length (or, packed, lower sft.turns_per_sequence)", file=sys.stderr)
    return {"examples": answers, "sequences": len(rows), "answers_cut": cut, "bf16": bool(trainer.args.bf16),
            **trainer_metrics(trainer.train(), curves)}
