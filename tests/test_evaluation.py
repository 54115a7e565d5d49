"""Batched evaluation: batches group prompts of similar length, results keep the examples' order."""

from __future__ import annotations

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
