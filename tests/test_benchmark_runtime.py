"""Per-request latency of the deployed runtime against the same model in PyTorch fp32 and in
llama.cpp, in one pytest-benchmark run (one group: `--benchmark-enable -n 0` prints them side by
side). With the suite's default `--benchmark-disable` each runs once as a plain test; the
real figures come from the `benchmark` stage (metrics/benchmark.json) on the default model.
"""

from __future__ import annotations

import pytest

from supertiny.evaluation import token_rates
from supertiny.runtime import llamacpp
from supertiny.runtime.benchmark import bandwidth_floor, read_bandwidth_gbs
from supertiny.runtime.files import weights_bytes
from supertiny.runtime.hf import HFPredictor
from supertiny.runtime.loading import load_predictor
from supertiny.runtime.token_predictor import TokenPredictor

NEW_TOKENS = 16


@pytest.fixture(scope="module")
def request_example(splits):
    return splits["test"][0]


def _run(benchmark, predictor, example):
    benchmark.group = "per-request latency (tiny preset, batch 1)"
    prediction = benchmark(predictor.predict, [example])[0]
    assert prediction.prompt_tokens > 0 and prediction.new_tokens <= NEW_TOKENS


@pytest.mark.benchmark
@pytest.mark.parametrize("precision", ["int8", "fp32"])
def test_deployed_runtime(benchmark, tiny_exports, task, request_example, precision):
    _run(benchmark, load_predictor(tiny_exports(precision), task, NEW_TOKENS), request_example)


@pytest.mark.benchmark
def test_pytorch_fp32(benchmark, trained_tiny, task, request_example):
    _run(benchmark, HFPredictor(trained_tiny, task, NEW_TOKENS), request_example)


@pytest.mark.benchmark
@pytest.mark.skipif(not llamacpp.available(), reason="llama-cpp-python is not installed")
@pytest.mark.parametrize("kind", ["Q8_0", "Q4_0"])
def test_llamacpp(benchmark, trained_tiny, task, request_example, tmp_path, kind):
    from supertiny.checkpoints import load_model
    from supertiny.compress.gguf_export import quantize_gguf, write_gguf

    model, tokenizer = load_model(trained_tiny)
    write_gguf(model, trained_tiny, tmp_path / "f32.gguf")
    quantize_gguf(tmp_path / "f32.gguf", tmp_path / f"{kind}.gguf", kind)
    runtime = llamacpp.LlamaCppModel(tmp_path / f"{kind}.gguf", tokenizer.convert_tokens_to_ids("<|im_end|>"))
    _run(benchmark, TokenPredictor(runtime, tokenizer, task, NEW_TOKENS), request_example)


def test_the_decode_floor_is_the_deployed_files_bytes_over_the_measured_read_bandwidth(tiny_exports, task, request_example):
    folder = tiny_exports("int8")
    rates = token_rates(load_predictor(folder, task, NEW_TOKENS).predict([request_example]))
    bandwidth = read_bandwidth_gbs(16, 2)
    metrics = bandwidth_floor(bandwidth, weights_bytes(folder), rates["decode_tokens_per_s"])
    assert metrics["bandwidth_gbs"] == round(bandwidth, 2) > 0
    assert metrics["decode_bytes_per_token"] == weights_bytes(folder) > 0
    assert metrics["decode_floor_ms_per_token"] == pytest.approx(weights_bytes(folder) / bandwidth / 1e6, abs=1e-3)
    ms_per_token = 1000 / rates["decode_tokens_per_s"]
    assert metrics["decode_ms_per_token_over_floor"] == pytest.approx(ms_per_token / (weights_bytes(folder) / bandwidth / 1e6), rel=0.01)
    assert "decode_ms_per_token_over_floor" not in bandwidth_floor(bandwidth, 1000, None)
