"""The deployed runtime answers like PyTorch and plugs into load_predictor and evaluation."""

from __future__ import annotations

import pytest

from supertiny.evaluation import evaluate_model
from supertiny.runtime import llamacpp
from supertiny.runtime.genai import GenaiPredictor
from supertiny.runtime.hf import HFPredictor
from supertiny.runtime.loading import load_predictor
from supertiny.runtime.token_predictor import TokenPredictor


def test_load_predictor_returns_the_deployed_runtime_and_it_answers_like_pytorch(trained_tiny, tiny_exports, task, splits):
    examples = splits["test"][:4]
    deployed = load_predictor(tiny_exports("fp32"), task, max_new_tokens=24)
    assert isinstance(deployed, GenaiPredictor)
    expected = HFPredictor(trained_tiny, task, max_new_tokens=24).predict(examples, batch_size=1)
    for ours, theirs in zip(deployed.predict(examples), expected):
        assert (ours.text, ours.answer, ours.prompt_tokens) == (theirs.text, theirs.answer, theirs.prompt_tokens)


def test_evaluation_reports_size_and_prefill_and_decode_speed(tiny_exports, task, splits):
    examples = splits["test"][:3]
    metrics, rows = evaluate_model(load_predictor(tiny_exports("int8"), task, max_new_tokens=16), examples, batch_size=3, latency_samples=2)
    assert len(rows) == 3 and metrics["latency_samples"] == 2
    assert metrics["prefill_tokens_per_s"] > 0 and metrics["decode_tokens_per_s"] > 0
    assert metrics["model_bytes"] > 0 and metrics["parameters"] == 1


@pytest.mark.skipif(not llamacpp.available(), reason="llama-cpp-python is not installed")
def test_the_gguf_conversion_generates_what_pytorch_generates(trained_tiny, task, splits, tmp_path):
    from supertiny.checkpoints import load_model
    from supertiny.compress.gguf_export import write_gguf

    model, tokenizer = load_model(trained_tiny)
    write_gguf(model, trained_tiny, tmp_path / "f32.gguf")
    runtime = llamacpp.LlamaCppModel(tmp_path / "f32.gguf", tokenizer.convert_tokens_to_ids("<|im_end|>"))
    ours = TokenPredictor(runtime, tokenizer, task, max_new_tokens=24).predict(splits["test"][:2])
    theirs = HFPredictor(None, task, 24, loaded=(model, tokenizer)).predict(splits["test"][:2])
    assert [p.text for p in ours] == [p.text for p in theirs]
