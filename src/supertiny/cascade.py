"""The production cascade: the tiny model answers what it is sure of, the teacher the rest.

A request is handed to the teacher when the tiny model's answer did not parse, carries no
confidence, or its confidence (`Prediction.confidence`, computed as `generation.confidence`
says: `runtime.prediction.answer_confidence`) is below a threshold. The threshold is picked on dev, where both
models' answers are known, as the lowest hand-off share whose cascade exact match reaches
the target; the whole curve is kept so the choice can be read and moved.
"""

from __future__ import annotations

from dataclasses import dataclass

HAND_OFF_ALL = 1.01  # a threshold above every confidence (a probability): everything goes to the teacher


@dataclass
class Answered:
    """One request, as the cascade sees it."""

    confidence: float | None  # None: no confidence, or an answer that did not parse
    tiny_correct: bool
    teacher_correct: bool


def usable_confidence(answer, confidence: float | None) -> float | None:
    """An answer that did not parse has no confidence worth trusting: it is always handed off."""
    return confidence if answer is not None else None


def handed_off(confidence: float | None, threshold: float) -> bool:
    return confidence is None or confidence < threshold


def at_threshold(rows: list[Answered], threshold: float) -> dict[str, float]:
    """Hand-off share and exact match of the cascade at one threshold."""
    off = [handed_off(r.confidence, threshold) for r in rows]
    correct = sum(r.teacher_correct if o else r.tiny_correct for r, o in zip(rows, off))
    return {"threshold": threshold, "handoff_share": round(sum(off) / len(rows), 4), "exact_match": round(correct / len(rows), 4)}


def cascade_curve(rows: list[Answered]) -> list[dict[str, float]]:
    """The cascade at every threshold that changes it: from handing off only what has no
    confidence (threshold 0) to handing off everything (threshold above every confidence)."""
    confidences = sorted({r.confidence for r in rows if r.confidence is not None})
    thresholds = [0.0, *confidences, HAND_OFF_ALL] if rows else []
    return [at_threshold(rows, t) for t in thresholds]


def pick_threshold(curve: list[dict[str, float]], target: float) -> tuple[dict[str, float], bool]:
    """(the point with the lowest hand-off share whose exact match reaches `target`, True), or,
    where none does, (the most accurate point, the least handed-off among equals, False)."""
    reaching = [p for p in curve if p["exact_match"] >= target]
    if reaching:
        return min(reaching, key=lambda p: (p["handoff_share"], p["threshold"])), True
    return max(curve, key=lambda p: (p["exact_match"], -p["handoff_share"])), False


def blended_cost_per_million(handoff_share: float, tiny_cost: float, teacher_cost: float) -> float:
    """Every request runs on the tiny model first; the handed-off share also pays the teacher."""
    return tiny_cost + handoff_share * teacher_cost
