"""Batched evaluation: batches group prompts of similar length, results keep the examples' order."""

from __future__ import annotations

import pytest

from supertiny.evaluation import predict_in_length_order


class RecordingPredictor:
    """Answers each example with its id and records the batches it was given."""

    def __init__(self):
        self.batches = []

    def predict(self, examples, batch_size=1):
        self.batches.append([e["id"] for e in examples])
        return [e["id"] for e in examples]


def test_batches_are_length_sorted_and_predictions_keep_the_input_order():
    lengths = [30, 5, 50, 10, 40, 20]
    examples = [{"id": f"e{i}", "input": "x" * n, "context": {"home": "h"}} for i, n in enumerate(lengths)]
    predictor = RecordingPredictor()
    predictions = predict_in_length_order(predictor, examples, batch_size=2, desc="test")
    assert predictions == [e["id"] for e in examples]
    assert predictor.batches == [["e1", "e3"], ["e5", "e0"], ["e4", "e2"]]


class EchoPredictor:
    """Answers every example with its gold, except the ids in `wrong`; counts batch-1 requests."""

    parameters = 7

    def __init__(self, wrong=()):
        self.wrong, self.single_requests = set(wrong), 0

    def predict(self, examples, batch_size=1):
        from supertiny.runtime.prediction import Prediction

        self.single_requests += batch_size == 1
        return [Prediction("x", None if e["id"] in self.wrong else e["gold"], new_tokens=3) for e in examples]


def test_held_out_sets_are_scored_as_their_own_split_and_latency_only_on_the_main_one():
    from supertiny.evaluation import evaluate_model

    call = [{"name": "set_power", "arguments": {"device": "d", "on": True}}]
    test = [{"id": f"t{i}", "input": "x" * i, "context": {}, "category": "simple", "gold": call, "meta": {"held_out_phrasing": i % 2 == 0}}
            for i in range(4)]
    hand = [{"id": f"h{i}", "input": "y" * i, "context": {}, "category": c, "gold": call if c == "simple" else "Sorry."}
            for i, c in enumerate(["simple", "simple", "irrelevance"])]
    alone, _ = evaluate_model(EchoPredictor(), test, batch_size=2, latency_samples=2)
    predictor = EchoPredictor(wrong={"h1"})
    metrics, rows = evaluate_model(predictor, test, batch_size=2, latency_samples=2, split="test", held_out={"handwritten": hand})
    assert {k: v for k, v in metrics.items() if not k.startswith("handwritten_") and "latency" not in k and "per_s" not in k} == \
        {k: v for k, v in alone.items() if "latency" not in k and "per_s" not in k}  # the main split's keys are unchanged
    assert metrics["handwritten_examples"] == 3 and metrics["handwritten_parse_rate"] == pytest.approx(0.6667)
    assert metrics["handwritten_exact_match"] == pytest.approx(0.6667)
    assert metrics["handwritten_exact_match_simple"] == 0.5 and metrics["handwritten_exact_match_irrelevance"] == 1.0
    assert not [k for k in metrics if k.startswith("handwritten_") and ("phrasing" in k or "latency" in k)]
    assert metrics["latency_samples"] == 2 and predictor.single_requests == 3  # one warm-up, two timed: main split only
    assert [r["split"] for r in rows] == ["test"] * 4 + ["handwritten"] * 3
    assert "held_out_phrasing" in rows[0] and "held_out_phrasing" not in rows[-1]
