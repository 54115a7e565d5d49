"""Evaluating one model on a split: accuracy from batched decoding, latency at batch 1."""

from __future__ import annotations

import json
import statistics
import time

from tqdm import tqdm

from supertiny.score import exact_match, score_predictions, sim_rl


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def evaluate_model(predictor, examples: list[dict], batch_size: int, latency_samples: int, desc: str = "evaluate",
                   split: str = "test", held_out: dict[str, list[dict]] | None = None):
    """(flat metrics, per-example rows) for a predictor on examples that carry `gold`.

    `held_out` (name -> examples, e.g. the task's hand-written set) are scored the same way,
    each as a split of its own: its metrics are the main split's keys prefixed `<name>_`
    (`handwritten_exact_match`, ...), its rows carry `split: <name>`. Latency is timed on
    `examples` only.
    """
    metrics, rows = score_split(predictor, examples, batch_size, desc, split, phrasing=True)
    metrics.update(measure_latency(predictor, examples[:latency_samples]))
    if predictor.parameters is not None:
        metrics["parameters"] = int(predictor.parameters)
    if getattr(predictor, "model_bytes", None):
        metrics["model_bytes"] = int(predictor.model_bytes)
    for name, extra in (held_out or {}).items():
        extra_metrics, extra_rows = score_split(predictor, extra, batch_size, f"{desc} {name}", name, phrasing=False)
        metrics.update({f"{name}_{key}": value for key, value in extra_metrics.items()})
        rows += extra_rows
    return metrics, rows


def score_split(predictor, examples: list[dict], batch_size: int, desc: str, split: str, phrasing: bool):
    """(accuracy metrics, rows) of one split, decoded in batches; `phrasing`: also score the
    generator's held-out against seen phrasings (from each example's `meta`)."""
    predictions = predict_in_length_order(predictor, examples, batch_size, desc)
    rows = []
    for example, prediction in zip(examples, predictions):
        row = {"id": example["id"], "split": split, "category": example["category"]}
        if phrasing:
            row["held_out_phrasing"] = example.get("meta", {}).get("held_out_phrasing", False)
        rows.append(row | {
            "input": example["input"],
            "text": prediction.text,
            "prediction": prediction.answer,
            "gold": example["gold"],
            "correct": exact_match(prediction.answer, example["gold"]),
            "similarity": round(sim_rl(prediction.answer, example["gold"]), 4),
            "confidence": prediction.confidence,
        })
    metrics = score_predictions(rows)
    metrics["mean_new_tokens"] = round(statistics.fmean(p.new_tokens for p in predictions), 2) if predictions else 0.0
    return metrics, rows


def predict_in_length_order(predictor, examples: list[dict], batch_size: int, desc: str) -> list:
    """Predictions in the examples' order, computed in batches of similar prompt length:
    left padding to the longest prompt of a batch is wasted prefill, the bulk of the cost."""
    order = sorted(range(len(examples)), key=lambda i: len(examples[i]["input"]) + len(json.dumps(examples[i].get("context"))))
    predictions: list = [None] * len(examples)
    for start in tqdm(range(0, len(order), batch_size), desc=desc, unit="batch"):
        chunk = order[start : start + batch_size]
        for index, prediction in zip(chunk, predictor.predict([examples[i] for i in chunk], batch_size=batch_size)):
            predictions[index] = prediction
    return predictions


def measure_latency(predictor, examples: list[dict]) -> dict[str, float]:
    """Per-request wall time at batch 1, after one warm-up request."""
    if not examples:
        return {}
    predictor.predict(examples[:1], batch_size=1)
    seconds, timed = [], []
    for example in examples:
        elapsed, predictions = timed_request(predictor, example)
        seconds.append(elapsed)
        timed += predictions
    return latency_summary(seconds, timed)


def timed_request(predictor, example: dict) -> tuple[float, list]:
    start = time.perf_counter()
    predictions = predictor.predict([example], batch_size=1)
    return time.perf_counter() - start, predictions


def latency_summary(seconds: list[float], predictions: list) -> dict[str, float]:
    """p50/p95 request time, answer tokens per request and token rates."""
    return {
        "latency_ms_p50": round(statistics.median(seconds) * 1000, 2),
        "latency_ms_p95": round(percentile(seconds, 0.95) * 1000, 2),
        "latency_samples": len(seconds),
        "new_tokens_mean": round(statistics.fmean(p.new_tokens for p in predictions), 2),
        **token_rates(predictions),
    }


def token_rates(predictions: list) -> dict[str, float]:
    """Prefill tokens/s (prompt tokens over time to the first new token) and decode tokens/s
    (later new tokens over their time), where the predictor timed its requests."""
    timed = [p for p in predictions if p.prefill_seconds and p.decode_seconds is not None]
    if not timed:
        return {}
    rates = {"prefill_tokens_per_s": round(sum(p.prompt_tokens for p in timed) / sum(p.prefill_seconds for p in timed), 1)}
    decode_seconds = sum(p.decode_seconds for p in timed)
    if decode_seconds > 0:
        rates["decode_tokens_per_s"] = round(sum(max(p.new_tokens - 1, 0) for p in timed) / decode_seconds, 1)
    return rates
