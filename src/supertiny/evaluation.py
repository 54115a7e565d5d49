"""Evaluating one model on a split: accuracy from batched decoding, latency at batch 1."""

from __future__ import annotations

import statistics
import time

from tqdm import tqdm

from supertiny.score import exact_match, score_predictions, sim_rl


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def evaluate_model(predictor, examples: list[dict], batch_size: int, latency_samples: int, desc: str = "evaluate"):
    """(flat metrics, per-example rows) for a predictor on examples that carry `gold`."""
    predictions = []
    for start in tqdm(range(0, len(examples), batch_size), desc=desc, unit="batch"):
        predictions += predictor.predict(examples[start : start + batch_size], batch_size=batch_size)
    rows = [
        {
            "id": example["id"],
            "category": example["category"],
            "held_out_phrasing": example.get("meta", {}).get("held_out_phrasing", False),
            "input": example["input"],
            "text": prediction.text,
            "prediction": prediction.answer,
            "gold": example["gold"],
            "correct": exact_match(prediction.answer, example["gold"]),
            "similarity": round(sim_rl(prediction.answer, example["gold"]), 4),
        }
        for example, prediction in zip(examples, predictions)
    ]
    metrics = score_predictions(rows)
    metrics["mean_new_tokens"] = round(statistics.fmean(p.new_tokens for p in predictions), 2) if predictions else 0.0
    metrics.update(measure_latency(predictor, examples[:latency_samples]))
    if predictor.parameters is not None:
        metrics["parameters"] = int(predictor.parameters)
    return metrics, rows


def measure_latency(predictor, examples: list[dict]) -> dict[str, float]:
    """Per-request wall time at batch 1, after one warm-up request."""
    if not examples:
        return {}
    predictor.predict(examples[:1], batch_size=1)
    seconds = []
    for example in examples:
        start = time.perf_counter()
        predictor.predict([example], batch_size=1)
        seconds.append(time.perf_counter() - start)
    return {
        "latency_ms_p50": round(statistics.median(seconds) * 1000, 2),
        "latency_ms_p95": round(percentile(seconds, 0.95) * 1000, 2),
        "latency_samples": len(seconds),
    }
