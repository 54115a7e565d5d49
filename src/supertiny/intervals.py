"""How sure a difference in exact match is: a paired bootstrap over the test examples.

Two models answered the same examples, so their errors are paired: resampling examples
(not models) gives the interval of the change one would see on another test set drawn the
same way. With 150 examples a single model's exact match carries about ±0.08 and a change
between two close models about ±0.05 (95%): smaller steps are noise, and the report says so.
"""

from __future__ import annotations

import random


def paired_change(before: dict[str, bool], after: dict[str, bool], resamples: int = 2000, seed: int = 0) -> dict[str, float]:
    """The change in exact match from `before` to `after` (example id -> correct, on the ids
    both scored) and its 95% bootstrap interval; `significant` when the interval excludes 0."""
    ids = sorted(set(before) & set(after))
    if not ids:
        return {}
    pairs = [(int(after[i]) - int(before[i])) for i in ids]
    rng = random.Random(seed)
    n = len(pairs)
    means = sorted(sum(pairs[rng.randrange(n)] for _ in range(n)) / n for _ in range(resamples))
    low, high = means[int(0.025 * resamples)], means[int(0.975 * resamples) - 1]
    return {
        "examples": n,
        "exact_match_before": round(sum(before[i] for i in ids) / n, 4),
        "exact_match_after": round(sum(after[i] for i in ids) / n, 4),
        "change": round(sum(pairs) / n, 4),
        "low": round(low, 4),
        "high": round(high, 4),
        "significant": low > 0 or high < 0,
    }


def step_changes(correct: dict[str, dict[str, bool]], steps: list[tuple[str, str]]) -> list[dict]:
    """`paired_change` for each (before, after) pair of models that both scored examples of the
    split (a model in evaluate.held_out_skip scored none of a hand-written set's)."""
    return [
        {"before": before, "after": after, **change}
        for before, after in steps
        if before in correct and after in correct and (change := paired_change(correct[before], correct[after]))
    ]


def scored_steps(chain: list[tuple[str, str]], same_as: dict[str, str]) -> list[tuple[str, str]]:
    """The pipeline's (before, after) steps between models that were scored: a stage switched
    off is the same model as its input (`same_as`), so its steps join up around it
    (sft → rft → rl → pruned with rft and rl off is sft → pruned)."""
    def scored(name: str) -> str:
        return same_as.get(name, name)

    return list(dict.fromkeys((scored(before), scored(after)) for before, after in chain if scored(before) != scored(after)))


def split_steps(chain: list[tuple[str, str]], same_as: dict[str, str], scored_here: set[str]) -> list[tuple[str, str]]:
    """`scored_steps` on one split: a model that scored none of its examples (evaluate.held_out_skip)
    is measured across, like a stage switched off, so skipping pruned on the hand-written sets
    still reports sft → deployed there. A first model not scored keeps its steps (`step_changes` drops them)."""
    across = dict(same_as)
    for before, after in chain:
        if after not in scored_here and after not in across:
            across[after] = across.get(before, before)
    return scored_steps(chain, across)
