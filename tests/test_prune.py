"""Structured pruning on the tiny preset: whole KV groups, an updated config, a clean reload."""

from __future__ import annotations

import dataclasses
import copy
import json
import typing

import pytest
import torch
from transformers import AutoModelForCausalLM

from supertiny.checkpoints import count_parameters, save_model
from supertiny.compress.prune import IMPORTANCES, calibration_gradients, plan_pruning, prune_model
from supertiny.params import PruneParams
from supertiny.train.ckd import train_ckd
from supertiny.errors import SupertinyError
from presets import shipped


def test_the_plan_keeps_kv_groups_whole_and_rejects_what_cannot_be_built(tiny_student):
    model = tiny_student[0]  # 4 query heads in 2 KV groups, MLP 256
    plan = plan_pruning(model, 0.98, heads_per_group=1, round_to=32)
    assert plan.num_key_value_heads == 2 and plan.heads_per_group == 1
    assert plan.intermediate_size % 32 == 0 and plan.parameters_after <= 0.98 * plan.parameters_before
    assert plan_pruning(model, 0.99, None, 32).heads_per_group == 2  # null keeps every head
    with pytest.raises(SupertinyError, match="heads_per_group"):
        plan_pruning(model, 0.98, heads_per_group=3, round_to=32)  # a group has only 2 query heads
    with pytest.raises(SupertinyError, match="target_ratio"):
        plan_pruning(model, 0.5, None, 32)  # the embeddings alone are more than half the model
    with pytest.raises(SupertinyError, match="target_ratio"):
        dataclasses.replace(shipped().prune, target_ratio=0).check()


def test_params_accept_exactly_the_importances_pruning_knows():
    accepted = typing.get_args(typing.get_type_hints(PruneParams)["importance"])
    assert sorted(accepted) == sorted(IMPORTANCES)


@pytest.mark.parametrize("importance", sorted(IMPORTANCES))
def test_a_pruned_model_is_consistent_and_reloads_with_plain_from_pretrained(tiny_student, sft_rows_small, tmp_path, importance):
    model, tokenizer = copy.deepcopy(tiny_student[0]), tiny_student[1]
    plan = plan_pruning(model, 0.98, heads_per_group=1, round_to=32)
    calibration_gradients(model, tokenizer, sft_rows_small[:2], importance)
    prune_model(model, plan, importance)
    assert all(p.grad is None for p in model.parameters())

    config = model.config
    assert (config.num_attention_heads, config.num_key_value_heads, config.head_dim) == (2, 2, 16)
    assert config.intermediate_size == plan.intermediate_size and count_parameters(model) == plan.parameters_after
    assert model.get_input_embeddings().weight is model.get_output_embeddings().weight  # still tied
    for layer in model.model.layers:
        attention = layer.self_attn
        assert attention.q_proj.out_features == attention.o_proj.in_features == 2 * 16
        assert attention.k_proj.out_features == attention.v_proj.out_features == 2 * 16  # KV heads untouched
        assert layer.mlp.gate_proj.out_features == layer.mlp.up_proj.out_features == layer.mlp.down_proj.in_features == plan.intermediate_size

    save_model(model, tokenizer, tmp_path)
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["num_attention_heads"] == 2 and saved["head_dim"] == 16
    reloaded = AutoModelForCausalLM.from_pretrained(tmp_path, use_safetensors=True).eval()
    ids = torch.tensor([tokenizer("turn on the kitchen light", add_special_tokens=False)["input_ids"]])
    with torch.no_grad():
        torch.testing.assert_close(reloaded(ids).logits, model.eval()(ids).logits)
        assert reloaded.generate(ids, max_new_tokens=4, do_sample=False).shape[1] == ids.shape[1] + 4


def test_fisher_reads_each_examples_squared_gradient_where_taylor_reads_their_sum(tiny_student, sft_rows_small):
    """E[g²] over the calibration examples, not (Σg)² nor the last example's alone (what
    torch-pruning 1.6.1's own accumulate_grad keeps); magnitude reads none."""
    tokenizer, rows = tiny_student[1], sft_rows_small[:3]
    per_example = []
    for row in rows:
        model = copy.deepcopy(tiny_student[0])
        calibration_gradients(model, tokenizer, [row], "taylor")
        per_example.append(model.model.layers[0].mlp.down_proj.weight.grad.clone())
    fisher, taylor = copy.deepcopy(tiny_student[0]), copy.deepcopy(tiny_student[0])
    calibration_gradients(fisher, tokenizer, rows, "fisher")
    calibration_gradients(taylor, tokenizer, rows, "taylor")
    torch.testing.assert_close(fisher.model.layers[0].mlp.down_proj.weight.grad, torch.stack(per_example).pow(2).mean(0))
    torch.testing.assert_close(taylor.model.layers[0].mlp.down_proj.weight.grad, torch.stack(per_example).sum(0))
    assert not fisher.training and all(p.grad is not None for p in fisher.parameters() if p.requires_grad)
    magnitude = copy.deepcopy(tiny_student[0])
    calibration_gradients(magnitude, tokenizer, rows, "magnitude")
    assert all(p.grad is None for p in magnitude.parameters())
    with pytest.raises(SupertinyError, match="calibration examples"):
        calibration_gradients(fisher, tokenizer, [], "fisher")
    with pytest.raises(SupertinyError, match="prune.importance must be one of magnitude, taylor, fisher"):
        calibration_gradients(fisher, tokenizer, rows, "obd")  # an unknown name is refused, not read as taylor


def test_recovery_distils_the_unpruned_model_into_the_pruned_one(tiny_student, sft_rows_small, tmp_path):
    teacher, tokenizer = copy.deepcopy(tiny_student[0]), tiny_student[1]  # CKDTrainer freezes its teacher
    pruned = copy.deepcopy(teacher)
    prune_model(pruned, plan_pruning(pruned, 0.99, None, 32))
    before = [p.detach().clone() for p in pruned.parameters()]
    params = dataclasses.replace(shipped().prune, max_steps=2, batch_size=4, learning_rate=1e-3, precision="fp32")
    metrics = train_ckd(pruned, teacher, tokenizer, sft_rows_small, params, params, shipped().train, str(tmp_path / "curves.json"))
    assert metrics["steps"] == 2 and metrics["final_teacher_agreement"] is not None
    assert any(not torch.equal(a, b) for a, b in zip(before, pruned.parameters()))
    assert len(json.loads((tmp_path / "curves.json").read_text())) == 2
