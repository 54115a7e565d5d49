"""Constrained knowledge distillation (CKD, STAR arXiv 2602.03022) on trl's SFTTrainer.

Per answer token the loss is the forward KL restricted to the teacher's top-k tokens,
Σ_{v∈topk(T)} p_T(v)·(log p_T(v) − log p_S(v)) (teacher probabilities not renormalised),
plus λ·Σ p_S(v) over the student's top-m tokens outside the teacher's top-k: the student
is pulled towards what the teacher finds likely and pushed off confident tokens the
teacher deems irrelevant, without matching the teacher's whole long tail.

One training path, `train_ckd`, serves the `distill` stage (a bigger fine-tuned teacher)
and the compression stage's recovery (the unpruned model teaching its pruned copy: the
ideal teacher, same tokenizer and prompts, and it already does the task). The traces'
answers can add a cross-entropy term (`hard_label_weight`): recovery then also continues
the student's SFT instead of only copying its mistakes.
"""

from __future__ import annotations

import tempfile

import torch
import torch.nn.functional as F

from supertiny.params import CkdParams, TrainingParams, TrainParams
from supertiny.train.common import TrainingCurves, completion_hidden_states, trainer_metrics
from supertiny.train.sft import CompletionSFTTrainer, make_sft_trainer


def ckd_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, top_k: int = 100, top_m: int = 100, tail_weight: float = 10.0) -> torch.Tensor:
    """Mean CKD loss over positions; logits are (positions, vocab). k and m are capped at
    the vocabulary size."""
    if student_logits.shape != teacher_logits.shape:
        raise ValueError(f"student logits {tuple(student_logits.shape)} and teacher logits {tuple(teacher_logits.shape)} differ: CKD needs a shared vocabulary")
    if student_logits.shape[0] == 0:
        return student_logits.sum() * 0.0
    vocab = student_logits.shape[-1]
    k, m = min(top_k, vocab), min(top_m, vocab)
    teacher_logp = F.log_softmax(teacher_logits.float(), dim=-1)
    student_logp = F.log_softmax(student_logits.float(), dim=-1)

    teacher_top_logp, teacher_top = teacher_logp.topk(k, dim=-1)
    kl = (teacher_top_logp.exp() * (teacher_top_logp - student_logp.gather(-1, teacher_top))).sum(-1)

    in_teacher_top = torch.zeros_like(student_logp, dtype=torch.bool).scatter_(-1, teacher_top, True)
    student_top_logp, student_top = student_logp.topk(m, dim=-1)
    outside = ~in_teacher_top.gather(-1, student_top)
    tail = (student_top_logp.exp() * outside).sum(-1)
    return (kl + tail_weight * tail).mean()


class CKDTrainer(CompletionSFTTrainer):
    """SFTTrainer whose loss on the answer tokens is CKD against a frozen teacher model,
    plus `hard_weight` x cross-entropy on those tokens.

    The teacher sees the same tokens (it must share the student's tokenizer); only answer
    positions go through either LM head, as in the SFT loss.
    """

    def __init__(self, *args, teacher_model, top_k: int, top_m: int, tail_weight: float, hard_weight: float, **kwargs):
        super().__init__(*args, **kwargs)
        self.teacher_model = teacher_model.eval().requires_grad_(False).to(self.accelerator.device)  # the trainer moves only the student
        self.top_k, self.top_m, self.tail_weight, self.hard_weight = top_k, top_m, tail_weight, hard_weight

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        with self.accelerator.autocast():
            hidden, targets = completion_hidden_states(model, inputs)
            student_logits = self.accelerator.unwrap_model(model).get_output_embeddings()(hidden)
            with torch.no_grad():
                teacher_hidden, _ = completion_hidden_states(self.teacher_model, inputs)
                teacher_logits = self.teacher_model.get_output_embeddings()(teacher_hidden)
        loss = ckd_loss(student_logits, teacher_logits, self.top_k, self.top_m, self.tail_weight)
        if self.accelerator.num_processes > 1 and num_items_in_batch is not None:
            # a mean over this process's tokens, weighted by their share of all processes' (DDP averages the gradients)
            loss = loss * (targets.numel() * self.accelerator.num_processes / num_items_in_batch)
        if self.hard_weight and targets.numel():
            loss = loss + self.hard_weight * F.cross_entropy(student_logits.float(), targets)
        if targets.numel():
            agreement = (student_logits.argmax(-1) == teacher_logits.argmax(-1)).float().mean().item()
            self._metrics["train" if model.training else "eval"]["teacher_agreement"].append(agreement)
        return (loss, {"logits": student_logits}) if return_outputs else loss


def train_ckd(student, teacher, tokenizer, rows: list[dict], training: TrainingParams, ckd: CkdParams, train: TrainParams, curves_path: str) -> dict:
    """Distil `teacher` into `student` (in place) on prompt/completion rows; the training metrics."""
    curves = TrainingCurves(curves_path, keys=("loss", "learning_rate", "grad_norm", "teacher_agreement"))
    with tempfile.TemporaryDirectory() as work_dir:
        trainer = make_sft_trainer(
            student, tokenizer, rows, training, train, work_dir, [curves], trainer_class=CKDTrainer, teacher_model=teacher,
            top_k=ckd.top_k, top_m=ckd.top_m, tail_weight=ckd.tail_weight, hard_weight=ckd.hard_label_weight,
        )
        metrics = trainer_metrics(trainer.train(), curves)
    student.eval()
    return metrics
