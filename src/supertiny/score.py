"""Scoring answers against gold: exact match, STAR's Sim-RL similarity, parse rate, per category.

Exact match compares the *set* of calls, order-free, with normalised argument values
(strings case- and space-insensitive, numbers by value). A gold reply (nothing should be
done) is matched by any reply, i.e. by making no call; the reply's wording is scored by
the similarity (ROUGE-L F1 against the gold reply).

Sim-RL (STAR, arXiv 2602.03022): each predicted call is matched greedily to the most
similar unmatched gold call of the same name; a call's similarity is the sum over shared
argument keys of a per-value score (ROUGE-L F1 for strings, exact for numbers and
booleans) divided by |pred keys ∪ gold keys|; the reward is the sum of matched
similarities over (number of predicted calls + number of unmatched gold calls).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from typing import Iterable

from supertiny.tool_format import Answer


def _normal_value(value):
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        return " ".join(value.lower().split()).strip(" .!?")
    if isinstance(value, list):
        return tuple(_normal_value(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _normal_value(v)) for k, v in value.items()))
    return value


def canonical_call(call: dict) -> tuple:
    return call["name"], tuple(sorted((k, _normal_value(v)) for k, v in call["arguments"].items()))


def exact_match(prediction: Answer | None, gold: Answer) -> bool:
    if prediction is None:
        return False
    if isinstance(gold, str):
        return isinstance(prediction, str)
    if isinstance(prediction, str):
        return False
    return Counter(map(canonical_call, prediction)) == Counter(map(canonical_call, gold))


def _tokens(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def rouge_l_f1(prediction: str, reference: str) -> float:
    a, b = _tokens(prediction), _tokens(reference)
    if not a or not b:
        return float(a == b)
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b, start=1):
            current.append(previous[j - 1] + 1 if x == y else max(previous[j], current[j - 1]))
        previous = current
    lcs = previous[-1]
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(a), lcs / len(b)
    return 2 * precision * recall / (precision + recall)


def value_similarity(predicted, gold) -> float:
    if isinstance(predicted, str) and isinstance(gold, str):
        return rouge_l_f1(predicted, gold)
    if isinstance(predicted, bool) or isinstance(gold, bool):
        return float(predicted is gold)
    if isinstance(predicted, (int, float)) and isinstance(gold, (int, float)):
        return float(float(predicted) == float(gold))
    return float(_normal_value(predicted) == _normal_value(gold))


def call_similarity(predicted: dict, gold: dict) -> float:
    keys = set(predicted["arguments"]) | set(gold["arguments"])
    if not keys:
        return 1.0
    shared = set(predicted["arguments"]) & set(gold["arguments"])
    return sum(value_similarity(predicted["arguments"][k], gold["arguments"][k]) for k in shared) / len(keys)


def sim_rl(prediction: Answer | None, gold: Answer) -> float:
    if prediction is None:
        return 0.0
    if isinstance(gold, str) or isinstance(prediction, str):
        return rouge_l_f1(prediction, gold) if isinstance(gold, str) and isinstance(prediction, str) else 0.0
    unmatched = list(range(len(gold)))
    total = 0.0
    for call in prediction:
        candidates = [(call_similarity(call, gold[i]), i) for i in unmatched if gold[i]["name"] == call["name"]]
        if candidates:
            best, index = max(candidates, key=lambda pair: (pair[0], -pair[1]))
            unmatched.remove(index)
            total += best
    denominator = len(prediction) + len(unmatched)
    return total / denominator if denominator else 1.0


def score_predictions(rows: Iterable[dict]) -> dict[str, float]:
    """Aggregate metrics over rows {prediction, gold, category[, held_out_phrasing]}; flat keys for DVC."""
    totals: dict[str, list] = defaultdict(list)
    for row in rows:
        prediction, gold = row["prediction"], row["gold"]
        correct = float(exact_match(prediction, gold))
        similarity = sim_rl(prediction, gold)
        totals["exact_match"].append(correct)
        totals["similarity"].append(similarity)
        totals["parse_rate"].append(float(prediction is not None))
        totals[f"exact_match_{row['category']}"].append(correct)
        totals[f"similarity_{row['category']}"].append(similarity)
        if "held_out_phrasing" in row:
            totals["exact_match_held_out_phrasing" if row["held_out_phrasing"] else "exact_match_seen_phrasing"].append(correct)
    metrics = {key: round(sum(values) / len(values), 4) for key, values in sorted(totals.items())}
    metrics["examples"] = len(totals["exact_match"])
    return metrics
