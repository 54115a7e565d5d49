"""A 0.5B-class student is a one-param change: the shape path (load, SFT, head and MLP
pruning, save and reload, int8 export, onnxruntime-genai generation, evaluation) on
randomly initialised, scaled-down Qwen2.5-0.5B and Qwen3-0.6B folders (tests/model_folders.py).
No real weights can be downloaded here: this proves the architectures, not the accuracy."""

from __future__ import annotations

import copy
import dataclasses
import json

import numpy as np
import pytest
import torch
from transformers import AutoConfig, AutoModelForCausalLM

from supertiny.checkpoints import count_parameters, load_model, save_model
from supertiny.compress.export import export_genai
from supertiny.compress.fidelity import answer_sequences, top1_agreement, torch_logits
from supertiny.compress.prune import calibration_gradients, plan_pruning, prune_model
from supertiny.evaluation import evaluate_model
from supertiny.modelcard import write_card
from supertiny.prompting import END_OF_TURN, prompt_ids
from supertiny.runtime.files import weights_bytes
from supertiny.runtime.genai import GenaiModel
from supertiny.runtime.loading import load_predictor
from supertiny.train.sft import train_sft
from supertiny.train.student import load_base_student

from model_folders import SCALED_QWEN, scaled_qwen_folder
from presets import shipped, train_settings, training

# (folder, query heads kept per KV group, target_ratio): the ratio cuts the heads and then the
# MLP; the 49152-token embedding is most of these small models, so the ratios sit near 1.
SHAPES = {"qwen2.5-0.5b": (3, 0.93), "qwen3-0.6b": (1, 0.98)}


def kept_heads(pruned, source, head_dim: int) -> list[int]:
    """Which of `source`'s query heads each of `pruned`'s heads is (its q rows, q bias and o
    columns, bit for bit)."""
    q, o = source.q_proj.weight.view(-1, head_dim, source.q_proj.in_features), source.o_proj.weight
    found = []
    for h, rows in enumerate(pruned.q_proj.weight.view(-1, head_dim, pruned.q_proj.in_features)):
        match = [s for s in range(q.shape[0]) if torch.equal(rows, q[s])]
        assert len(match) == 1, f"pruned head {h} is not one source head"
        s = match[0]
        assert torch.equal(pruned.o_proj.weight[:, h * head_dim : (h + 1) * head_dim], o[:, s * head_dim : (s + 1) * head_dim])
        if source.q_proj.bias is not None:  # Qwen2: the bias goes with its rows
            assert torch.equal(pruned.q_proj.bias[h * head_dim : (h + 1) * head_dim], source.q_proj.bias[s * head_dim : (s + 1) * head_dim])
        found.append(s)
    return found


@pytest.mark.slow
@pytest.mark.parametrize("name", list(SHAPES))
def test_a_scaled_down_half_billion_student_goes_through_sft_pruning_export_and_evaluation(name, tiny_student, task, splits, sft_rows_small, tmp_path):
    heads_per_group, ratio = SHAPES[name]
    shape = SCALED_QWEN[name]
    folder = scaled_qwen_folder(name, tmp_path / "download", tiny_student[1])
    assert json.loads((folder / "tokenizer_config.json").read_text())["eos_token"] == "<|endoftext|>"

    # student.model: the folder, nothing else
    model, tokenizer, source = load_base_student(dataclasses.replace(shipped().student, model=str(folder)))
    assert source == str(folder) and type(model).__name__ == shape["architecture"]
    assert model.get_input_embeddings().weight is model.get_output_embeddings().weight
    assert tokenizer.eos_token == END_OF_TURN and model.generation_config.eos_token_id == tokenizer.convert_tokens_to_ids(END_OF_TURN)

    # a short SFT (peaks the random model's outputs, as a real student's are), saved as models/sft is
    settings = training(max_steps=4, batch_size=2, learning_rate=1e-2, warmup_ratio=0.0, precision="fp32")
    metrics = train_sft(model, tokenizer, sft_rows_small[:8], settings, train_settings(), str(tmp_path / "work"), str(tmp_path / "curves.json"))
    assert metrics["steps"] == 4
    save_model(model.eval(), tokenizer, tmp_path / "sft")
    source_model, tokenizer = load_model(tmp_path / "sft")

    # the plan: whole KV groups, fewer query heads in each, the MLP narrowed to the ratio
    config = source_model.config
    heads, kv_heads = config.num_attention_heads, config.num_key_value_heads
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // heads  # Qwen2 leaves it implicit
    group = heads // kv_heads
    plan = plan_pruning(source_model, ratio, heads_per_group, round_to=32)
    assert (plan.heads_per_group, plan.num_key_value_heads) == (heads_per_group, kv_heads)
    assert plan.intermediate_size < config.intermediate_size and plan.parameters_after <= ratio * plan.parameters_before
    assert plan.parameters_before == count_parameters(source_model)
    planned = AutoConfig.from_pretrained(tmp_path / "sft")
    planned.num_attention_heads, planned.head_dim, planned.intermediate_size = heads_per_group * kv_heads, head_dim, plan.intermediate_size
    with torch.device("meta"):
        assert count_parameters(AutoModelForCausalLM.from_config(planned)) == plan.parameters_after  # the plan is the shape transformers builds

    pruned = copy.deepcopy(source_model)
    calibration_gradients(pruned, tokenizer, sft_rows_small[:2], "taylor")
    prune_model(pruned, plan, "taylor")
    assert count_parameters(pruned) == plan.parameters_after
    for layer, before in zip(pruned.model.layers, source_model.model.layers):
        attention, original = layer.self_attn, before.self_attn
        kept = kept_heads(attention, original, head_dim)
        assert kept == sorted(kept) and [s // group for s in kept] == [g for g in range(kv_heads) for _ in range(heads_per_group)]
        for projection in ("k_proj", "v_proj"):  # KV heads untouched, biases (Qwen2) included
            assert torch.equal(getattr(attention, projection).weight, getattr(original, projection).weight)
            if original.k_proj.bias is not None:
                assert torch.equal(getattr(attention, projection).bias, getattr(original, projection).bias)
        if hasattr(original, "q_norm"):  # Qwen3: per-head norms over head_dim, which is kept
            assert torch.equal(attention.q_norm.weight, original.q_norm.weight) and attention.q_norm.weight.shape == (head_dim,)

    # save and reload with plain transformers: the same logits
    save_model(pruned, tokenizer, tmp_path / "pruned")
    write_card(tmp_path / "pruned", kind="hf", stage="prune", inputs={}, params={}, parameters=count_parameters(pruned))
    saved = json.loads((tmp_path / "pruned" / "config.json").read_text())
    assert (saved["num_attention_heads"], saved["num_key_value_heads"], saved["head_dim"]) == (heads_per_group * kv_heads, kv_heads, head_dim)
    reloaded, _ = load_model(tmp_path / "pruned")
    with torch.no_grad():
        # the first of a few requests on which this briefly trained model does not repeat one token
        for example in splits["test"][:8]:
            ids = prompt_ids(tokenizer, task, example)
            expected = pruned.generate(torch.tensor([ids]), max_new_tokens=16, do_sample=False)[0, len(ids):].tolist()
            if len(set(expected)) > 2:
                break
        torch.testing.assert_close(reloaded.eval()(torch.tensor([ids])).logits, pruned.eval()(torch.tensor([ids])).logits)

    # int8 export with the genai builder; it generates what PyTorch generates
    deployed = tmp_path / "deployed"
    export_genai(tmp_path / "pruned", deployed, "int8")
    write_card(deployed, kind="ort-genai", stage="quantize", inputs={}, params={"precision": "int8"}, parameters=plan.parameters_after)
    assert weights_bytes(deployed) < 0.35 * weights_bytes(tmp_path / "pruned")  # the tied embedding stored once, at int8
    genai = GenaiModel(deployed)
    new, _, _, _ = genai.generate(ids, 16)
    expected = [t for t in expected if t != genai.end_id]
    # int8 weights move logits by a few hundredths to tenths: greedy decoding may take the other
    # side of a near-tie. Tolerance: the same tokens up to the first step where PyTorch's own top
    # two were within 0.6 logits, and there the int8 token is PyTorch's close runner-up.
    assert len(set(expected)) > 2, "a flat model repeats one token: the comparison would prove nothing"
    differ = next((i for i, (a, b) in enumerate(zip(new, expected)) if a != b), None)
    if differ is not None:
        with torch.no_grad():
            step = pruned(torch.tensor([ids + expected[:differ]])).logits[0, -1]
        assert step[expected[differ]] - step[new[differ]] < 0.6, f"int8 greedy {new} vs PyTorch {expected}"
    else:
        assert len(new) >= min(len(expected), 16)
    with torch.no_grad():  # and the whole prompt's logits, position by position
        reference = pruned(torch.tensor([ids])).logits[0].numpy()
    exported = np.asarray(genai.logits(ids, 1))
    assert len(exported) == len(ids) - 1 and min(np.corrcoef(a, b)[0, 1] for a, b in zip(reference[:-1], exported)) > 0.995
    sequences = answer_sequences(tokenizer, task, splits["test"][:10])
    assert top1_agreement(torch_logits(pruned, sequences), [genai.logits(s, start) for s, start in sequences]) >= 0.9

    # evaluate loads it like the evaluate stage does
    predictor = load_predictor(deployed, task, 24, constrained=True)
    scores, rows = evaluate_model(predictor, splits["test"][:2], batch_size=1, latency_samples=1)
    assert len(rows) == 2 and 0 <= scores["exact_match"] <= 1 and scores["parameters"] == plan.parameters_after


@pytest.mark.slow
def test_pointing_student_model_at_the_folder_is_the_one_change_the_graph_needs(tiny_student, tmp_path):
    """`dvc repro student` only (the rest of the graph is the shape test above): params.yaml
    accepts the folder and models/base is the Qwen student, re-templated, with its card."""
    from dvc_project import run, tiny_project
    import yaml

    repo = tiny_project(tmp_path / "repo")
    folder = scaled_qwen_folder("qwen3-0.6b", tmp_path / "Qwen3-0.6B", tiny_student[1])
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["student"]["model"] = str(folder)
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    run(["dvc", "repro", "--single-item", "student"], repo)
    base = json.loads((repo / "models" / "base" / "config.json").read_text())
    card = json.loads((repo / "models" / "base" / "card.json").read_text())
    assert base["architectures"] == ["Qwen3ForCausalLM"] and base["eos_token_id"] == tiny_student[1].convert_tokens_to_ids(END_OF_TURN)
    assert card["inputs"]["source"] == str(folder) and card["architecture"] == "qwen3"
