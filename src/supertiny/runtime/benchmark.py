"""Per-request latency of the same model on several runtimes, measured side by side.

Every runtime answers the same requests at batch 1 through the predictor interface, so
latency includes prompt rendering, prefill, decoding and parsing, as a server sees it.
Requests are interleaved: request i goes to every runtime before request i+1, in an order
that rotates, so a slow spell of a shared machine lands on all runtimes alike and the
ratios (what travels between machines) hold from run to run.
"""

from __future__ import annotations

import time
from typing import Callable

from tqdm import tqdm

from supertiny.evaluation import latency_summary, timed_request

COMPARABLE_GGUF = {"int8": "q8_0", "int4": "q4_0"}  # llama.cpp type at the deployed bit-width
BANDWIDTH_REPEATS = 5  # passes timed; the best counts (the machine's bandwidth, not a busy moment's)


def read_bandwidth_gbs(mib: int, threads: int) -> float:
    """Memory read bandwidth in GB/s, as decoding uses it (it streams the weights, writing
    little): the best of a few passes of `threads` threads each summing its share of a
    `mib`-MiB buffer (far larger than the caches) as 64-bit words. numpy releases the GIL in
    the sums, so the threads read at once, as the runtime's do. A plain copy (read + write)
    measured a third to half of this on the 2-core EPYC VM, below what the runtime reached."""
    from concurrent.futures import ThreadPoolExecutor

    import numpy as np

    words = np.ones(mib * 2**20 // 8, dtype=np.uint64)
    shares = np.array_split(words, threads)
    best = float("inf")
    with ThreadPoolExecutor(threads) as pool:
        for _ in range(BANDWIDTH_REPEATS):
            start = time.perf_counter()
            list(pool.map(np.add.reduce, shares))
            best = min(best, time.perf_counter() - start)
    return words.nbytes / best / 1e9


def bandwidth_floor(bandwidth_gbs: float, bytes_per_token: int, decode_tokens_per_s: float | None) -> dict[str, float]:
    """The memory-bandwidth floor of decoding: every decoded token reads all the weights once
    (`bytes_per_token`: the deployed files' bytes; the KV cache's few MB at these lengths are
    left out), so no kernel decodes a token faster than bytes / bandwidth. The ratio says how
    far the deployed runtime is from it."""
    floor_ms = bytes_per_token / (bandwidth_gbs * 1e9) * 1000
    metrics = {"bandwidth_gbs": round(bandwidth_gbs, 2), "decode_bytes_per_token": bytes_per_token, "decode_floor_ms_per_token": round(floor_ms, 3)}
    if decode_tokens_per_s:
        metrics["decode_ms_per_token_over_floor"] = round(1000 / decode_tokens_per_s / floor_ms, 2)
    return metrics


def compare(predictors: dict[str, Callable[[], object]], examples: list[dict]) -> dict[str, dict]:
    """{runtime: latency p50/p95, answer tokens and token rates} for each predictor factory."""
    if not examples:
        return {}
    loaded = {name: make() for name, make in predictors.items()}
    for predictor in loaded.values():
        predictor.predict(examples[:1], batch_size=1)  # warm-up
    names = list(loaded)
    seconds = {name: [] for name in names}
    predictions = {name: [] for name in names}
    for i, example in enumerate(tqdm(examples, desc=f"benchmark {len(names)} runtimes", unit="request")):
        for name in names[i % len(names):] + names[: i % len(names)]:
            elapsed, answer = timed_request(loaded[name], example)
            seconds[name].append(elapsed)
            predictions[name] += answer
    return {name: latency_summary(seconds[name], predictions[name]) for name in names}


def flat_metrics(results: dict[str, dict], deployed_precision: str) -> dict[str, float]:
    """`runtime_metric` keys plus the ratios the acceptance criteria name."""
    flat = {f"{name}_{key}": value for name, metrics in results.items() for key, value in metrics.items() if key != "latency_samples"}
    deployed = results["deployed"]
    for baseline in ("pytorch_fp32", "student_fp32"):
        if baseline in results:
            flat[f"speedup_p50_vs_{baseline}"] = round(results[baseline]["latency_ms_p50"] / deployed["latency_ms_p50"], 2)
    if cached := results.get("deployed_prefix_cache"):
        flat["prefix_cache_speedup_p50"] = round(deployed["latency_ms_p50"] / cached["latency_ms_p50"], 2)
        if "pytorch_fp32" in results:
            flat["prefix_cache_speedup_p50_vs_pytorch_fp32"] = round(results["pytorch_fp32"]["latency_ms_p50"] / cached["latency_ms_p50"], 2)
    for name, metrics in results.items():
        if name.startswith("llamacpp_") and "decode_tokens_per_s" in metrics and "decode_tokens_per_s" in deployed:
            flat[f"decode_vs_{name}"] = round(deployed["decode_tokens_per_s"] / metrics["decode_tokens_per_s"], 2)
    comparable = f"llamacpp_{COMPARABLE_GGUF.get(deployed_precision, '')}"
    if f"decode_vs_{comparable}" in flat:
        flat["decode_vs_llamacpp_same_bits"] = flat[f"decode_vs_{comparable}"]
    return flat
