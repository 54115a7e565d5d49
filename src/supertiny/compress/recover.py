"""Recovery distillation: the pruned student relearns from its unpruned self.

Pruning without recovery leaves a damaged model; the unpruned model is the ideal teacher
(same tokenizer, same prompts, and it already does the task), so recovery is the CKD loss
on the accepted traces' answer tokens, with trl's SFT machinery doing the batching. The
traces' answers themselves can add a cross-entropy term: a few recovery steps then also
continue the student's SFT instead of only copying its mistakes.
"""

from __future__ import annotations

import tempfile

import torch.nn.functional as F

from supertiny.params import PruneParams
from supertiny.train.ckd import CKDTrainer
from supertiny.train.common import TrainingCurves
from supertiny.train.sft import make_sft_trainer


class RecoveryTrainer(CKDTrainer):
    """CKD against the unpruned model + `hard_weight` x cross-entropy on the answer tokens."""

    def __init__(self, *args, hard_weight: float = 0.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.hard_weight = hard_weight

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        loss, outputs = super().compute_loss(model, inputs, return_outputs=True)
        if self.hard_weight:
            labels = inputs["labels"][:, 1:]
            loss = loss + self.hard_weight * F.cross_entropy(outputs["logits"].float(), labels[labels != -100])
        return (loss, outputs) if return_outputs else loss


def recover(pruned, teacher, tokenizer, rows: list[dict], params: PruneParams, curves_path: str) -> dict:
    """Train `pruned` in place; returns the training metrics."""
    curves = TrainingCurves(curves_path, keys=("loss", "learning_rate", "grad_norm", "teacher_agreement"))
    with tempfile.TemporaryDirectory() as work_dir:
        trainer = make_sft_trainer(
            pruned, tokenizer, rows, params.training(), work_dir, [curves], trainer_class=RecoveryTrainer,
            teacher_model=teacher, top_k=params.top_k, top_m=params.top_m, tail_weight=params.tail_weight,
            hard_weight=params.hard_label_weight,
        )
        result = trainer.train()
    pruned.eval()
    return {
        "recovery_loss": round(float(result.training_loss), 4),
        "recovery_final_loss": curves.last("loss"),
        "recovery_teacher_agreement": curves.last("teacher_agreement"),
        "recovery_steps": int(result.global_step),
        "recovery_seconds": round(float(result.metrics.get("train_runtime", 0.0)), 1),
    }
