"""The onnxruntime-genai export: fp32 is PyTorch token for token, int8 keeps its top-1 tokens."""

from __future__ import annotations

import json

import pytest
import torch

from supertiny.checkpoints import load_model
from supertiny.compress.export import export_genai
from supertiny.compress.fidelity import answer_sequences, top1_agreement, torch_logits
from supertiny.errors import SupertinyError
from supertiny.prompting import prompt_ids
from supertiny.runtime.files import weights_bytes
from supertiny.runtime.genai import GenaiModel
from supertiny.runtime.loading import load_predictor
from supertiny.runtime.prediction import CONFIDENCES


@pytest.fixture(scope="module")
def student(trained_tiny):
    model, tokenizer = load_model(trained_tiny)
    return model.eval(), tokenizer


def test_fp32_export_generates_what_pytorch_generates_token_for_token(student, tiny_exports, task, splits):
    model, tokenizer = student
    deployed = GenaiModel(tiny_exports("fp32"))
    for example in splits["test"][:3]:
        ids = prompt_ids(tokenizer, task, example)
        with torch.no_grad():
            expected = model.generate(torch.tensor([ids]), max_new_tokens=24, do_sample=False)[0, len(ids):].tolist()
        new, prefill, decode, logprobs = deployed.generate(ids, 24)
        assert new == [t for t in expected if t != deployed.end_id][: len(new)] and len(new) >= min(len(expected), 24) - 1
        assert prefill > 0 and decode >= 0
        # the confidence's log-probabilities are PyTorch's, token for token (end of turn included)
        chosen = expected[: len(logprobs)]
        with torch.no_grad():
            reference = torch.log_softmax(model(torch.tensor([ids + chosen])).logits[0, len(ids) - 1 : -1].double(), -1)
        assert logprobs == pytest.approx(reference.gather(1, torch.tensor(chosen)[:, None])[:, 0].tolist(), abs=1e-3)


@pytest.mark.parametrize("method", CONFIDENCES)
def test_both_runtimes_give_an_answer_the_same_confidence_by_the_configured_method(trained_tiny, tiny_exports, task, splits, method):
    examples = splits["test"][:3]
    torch_answers = load_predictor(trained_tiny, task, 24, confidence=method).predict(examples)
    deployed = load_predictor(tiny_exports("fp32"), task, 24, confidence=method).predict(examples)
    assert [p.text for p in deployed] == [p.text for p in torch_answers]
    assert [p.confidence for p in deployed] == pytest.approx([p.confidence for p in torch_answers], rel=1e-2)
    other = {p.confidence for p in load_predictor(tiny_exports("fp32"), task, 24, confidence=next(m for m in CONFIDENCES if m != method)).predict(examples)}
    assert other != {p.confidence for p in deployed}  # the method is what changed the numbers


def test_int8_export_keeps_the_fp32_exports_top1_tokens(student, tiny_exports, task, splits):
    model, tokenizer = student
    sequences = answer_sequences(tokenizer, task, splits["test"][:4])
    fp32, int8 = GenaiModel(tiny_exports("fp32")), GenaiModel(tiny_exports("int8"))
    reference = [fp32.logits(ids, start) for ids, start in sequences]
    assert top1_agreement(reference, [int8.logits(ids, start) for ids, start in sequences]) >= 0.95
    assert top1_agreement(torch_logits(model, sequences), reference) == 1.0


def test_the_export_is_a_self_contained_kv_cache_model_folder(trained_tiny, tiny_exports):
    folder = tiny_exports("int8")
    config = json.loads((folder / "genai_config.json").read_text())["model"]["decoder"]
    assert "past_key_names" in config["inputs"] and config["session_options"]["intra_op_num_threads"] == 2
    assert (folder / "tokenizer.json").read_bytes() == (trained_tiny / "tokenizer.json").read_bytes()
    assert (folder / "chat_template.jinja").exists()
    assert weights_bytes(folder) < 0.3 * weights_bytes(trained_tiny)


@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_a_prefill_projects_only_its_last_position_onto_the_vocabulary(tiny_exports, task, splits, precision):
    """The builder's prune_lm_head: generation reads the last position's logits only, so the
    export computes no others (and the teacher-forced logits come a token at a time)."""
    model = GenaiModel(tiny_exports(precision))
    ids = prompt_ids(model.tokenizer, task, splits["test"][0])
    params = model._og.GeneratorParams(model.model)
    params.set_search_options(max_length=len(ids) + 1)
    generator = model._og.Generator(model.model, params)
    generator.append_tokens(ids)
    assert generator.get_output("logits").shape[:2] == (1, 1)
    assert model.logits(ids, len(ids) - 3).shape[0] == 3


def test_a_failing_build_is_one_user_error(tmp_path):
    with pytest.raises(SupertinyError, match="model builder failed"):
        export_genai(tmp_path / "missing", tmp_path / "out", "int8")


def test_the_prefix_cache_answers_as_a_fresh_cache_and_prefills_only_what_is_new(tiny_exports, task, splits):
    fresh, kept = GenaiModel(tiny_exports("int8")), GenaiModel(tiny_exports("int8"), reuse_prefix=True)
    home = splits["test"][0]["context"]
    requests = [{**e, "context": home} for e in splits["test"][:4]] + [splits["test"][5], splits["test"][5]]
    for number, example in enumerate(requests):
        ids = prompt_ids(fresh.tokenizer, task, example)
        expected, _, _, expected_logprobs = fresh.generate(ids, 12)
        new, _, _, logprobs = kept.generate(ids, 12)
        assert new == expected and logprobs == pytest.approx(expected_logprobs, abs=1e-3)
        if number == 0:
            assert kept.last_prefill_tokens == len(ids)  # nothing kept yet
        elif number == 4:
            assert kept.last_prefill_tokens > len(ids) // 2  # another home: most of the prompt is new
        else:
            assert kept.last_prefill_tokens < len(ids) // 2  # the same home (or request) as the one before


def test_the_export_does_not_depend_on_the_commit_of_the_repository_around_it(tiny_exports):
    """The builder stamps producer_version with `git rev-parse HEAD` run beside its package: in
    a venv inside this repository that would be our commit, and every commit would change the
    deployed model's hash in dvc.lock. The stamp must be the wheel's own version and commit."""
    import onnx
    import onnxruntime_genai

    graph = onnx.load(str(tiny_exports("int8") / "model.onnx"), load_external_data=False)
    assert graph.producer_version == f"{onnxruntime_genai.__version__}+{onnxruntime_genai.__commit__[:7]}"
