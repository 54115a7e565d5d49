"""The CKD loss against hand-computed values, and its trainer on the tiny preset."""

from __future__ import annotations

import copy
import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from presets import train_settings, training
from supertiny.train.ckd import CKDTrainer, ckd_loss
from supertiny.train.sft import make_sft_trainer

TEACHER = torch.tensor([[0.7, 0.2, 0.1]]).log()
STUDENT = torch.tensor([[0.5, 0.1, 0.4]]).log()


def test_ckd_with_a_tail_term_by_hand():
    # teacher top-1 = {0}: KL part 0.7·ln(0.7/0.5); student top-2 = {0, 2}, token 2 is outside
    # the teacher's top-1, so the tail is p_S(2) = 0.4, weighted by λ = 10
    expected = 0.7 * math.log(0.7 / 0.5) + 10 * 0.4
    assert ckd_loss(STUDENT, TEACHER, top_k=1, top_m=2, tail_weight=10).item() == pytest.approx(expected, rel=1e-5)
    assert ckd_loss(STUDENT, TEACHER, top_k=1, top_m=2, tail_weight=0).item() == pytest.approx(0.7 * math.log(0.7 / 0.5), rel=1e-5)


def test_ckd_with_k_beyond_the_vocabulary_is_the_full_forward_kl():
    full_kl = 0.7 * math.log(0.7 / 0.5) + 0.2 * math.log(0.2 / 0.1) + 0.1 * math.log(0.1 / 0.4)
    assert ckd_loss(STUDENT, TEACHER, top_k=100, top_m=100).item() == pytest.approx(full_kl, rel=1e-5)


def test_ckd_does_not_renormalise_the_teacher_top_k_and_averages_positions():
    # top-2 of the teacher = {0, 1}, unrenormalised p_T; student's top-1 = {0} is inside: no tail
    first = 0.7 * math.log(0.7 / 0.5) + 0.2 * math.log(0.2 / 0.1)
    second = 0.0  # identical distributions
    logits_s = torch.cat([STUDENT, TEACHER])
    logits_t = torch.cat([TEACHER, TEACHER])
    assert ckd_loss(logits_s, logits_t, top_k=2, top_m=1).item() == pytest.approx((first + second) / 2, rel=1e-5)
    with pytest.raises(ValueError, match="shared vocabulary"):
        ckd_loss(STUDENT, torch.zeros(1, 4))


def test_ckd_trainer_pulls_a_perturbed_student_towards_its_teacher(tiny_student, sft_rows_small, tmp_path):
    model, tokenizer = tiny_student
    teacher, student = copy.deepcopy(model), copy.deepcopy(model)  # the trainer freezes its teacher
    torch.manual_seed(0)
    with torch.no_grad():
        for parameter in student.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.05)
    params = training(max_steps=6, batch_size=4, learning_rate=3e-3, precision="fp32")
    trainer = make_sft_trainer(
        student, tokenizer, sft_rows_small, params, train_settings(), str(tmp_path), trainer_class=CKDTrainer, teacher_model=teacher,
        top_k=100, top_m=100, tail_weight=10.0, hard_weight=0.0,
    )
    batch = next(iter(trainer.get_train_dataloader()))
    with torch.no_grad():
        same = CKDTrainer.compute_loss(trainer, teacher, dict(batch))
        before = trainer.compute_loss(student, dict(batch))
    assert same.item() == pytest.approx(0.0, abs=1e-5), "a student identical to its teacher has zero loss"
    trainer.train()
    with torch.no_grad():
        after = trainer.compute_loss(student, dict(batch))
    assert before.item() > 0 and after.item() < before.item()


def test_distill_stage_without_a_teacher_is_skipped_cleanly(tmp_path):
    root = Path(__file__).resolve().parents[1]
    shutil.copy(root / "params.yaml", tmp_path / "params.yaml")
    result = subprocess.run([sys.executable, str(root / "stages" / "distill.py")], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "models/distill/card.json").read_text())["kind"] == "skipped"
    assert json.loads((tmp_path / "metrics/distill.json").read_text()) == {"skipped": True}
