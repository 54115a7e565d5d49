"""The benchmark's schedule: every runtime answers every request, interleaved, in a rotating order."""

from __future__ import annotations

from supertiny.runtime.benchmark import compare
from supertiny.runtime.prediction import Prediction


class Recorder:
    """A runtime that answers at once and logs which request it saw."""

    def __init__(self, name: str, log: list, new_tokens: int):
        self.name, self.log, self.new_tokens = name, log, new_tokens

    def predict(self, examples, batch_size=1):
        self.log.append((self.name, examples[0]["id"]))
        return [Prediction("x", "x", 5, self.new_tokens, 0.001, 0.001) for _ in examples]


def test_requests_are_interleaved_across_runtimes_in_rotating_order():
    log: list = []
    examples = [{"id": i} for i in range(4)]
    results = compare({name: (lambda name=name, n=n: Recorder(name, log, n)) for name, n in (("a", 3), ("b", 7), ("c", 11))}, examples)
    timed = log[3:]  # after one warm-up request each
    assert [request for _, request in timed] == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]
    assert [runtime for runtime, _ in timed[:6]] == ["a", "b", "c", "b", "c", "a"]
    assert {name: r["latency_samples"] for name, r in results.items()} == {"a": 4, "b": 4, "c": 4}
    assert {name: r["new_tokens_mean"] for name, r in results.items()} == {"a": 3, "b": 7, "c": 11}
