"""The paired bootstrap: a real gain is significant, a coin-flip difference is not."""

from __future__ import annotations

import random

from supertiny.intervals import paired_change, split_steps, step_changes, scored_steps


def test_a_clear_gain_is_significant_and_noise_is_not():
    rng = random.Random(1)
    ids = [f"t{i}" for i in range(150)]
    before = {i: rng.random() < 0.45 for i in ids}
    better = {i: before[i] or rng.random() < 0.5 for i in ids}  # fixes about half the failures
    shuffled = {i: rng.random() < 0.45 for i in ids}  # as good, independently wrong
    gain = paired_change(before, better)
    assert gain["significant"] and gain["low"] > 0 and gain["change"] > 0.2
    noise = paired_change(before, shuffled)
    assert noise["low"] < 0 < noise["high"] and not noise["significant"]
    assert noise["high"] - noise["low"] > 0.1  # 150 examples: a wide interval


def test_identical_models_change_by_exactly_nothing():
    same = {f"t{i}": i % 3 == 0 for i in range(30)}
    assert paired_change(same, same) | {} == {"examples": 30, "exact_match_before": 0.3333, "exact_match_after": 0.3333,
                                           "change": 0.0, "low": 0.0, "high": 0.0, "significant": False}


def test_steps_skip_models_that_were_not_evaluated():
    correct = {"sft": {"a": True, "b": False}, "rft": {"a": True, "b": True}}
    steps = step_changes(correct, [("sft", "rft"), ("rft", "rl")])
    assert [(s["before"], s["after"], s["change"]) for s in steps] == [("sft", "rft", 0.5)]
    # a model scored on none of a split's examples (evaluate.held_out_skip) has no step there
    assert [(s["before"], s["after"]) for s in step_changes({"base": {}, **correct}, [("base", "sft"), ("sft", "rft")])] == [("sft", "rft")]


def test_steps_join_up_around_stages_that_were_switched_off():
    chain = [("base", "sft"), ("sft", "rft"), ("rft", "distill"), ("rft", "rl"), ("rl", "pruned"), ("pruned", "deployed")]
    steps = scored_steps(chain, {"rft": "sft", "rl": "sft"})
    assert steps == [("base", "sft"), ("sft", "distill"), ("sft", "pruned"), ("pruned", "deployed")]
    assert scored_steps(chain, {}) == chain


def test_a_split_measures_across_models_it_did_not_score():
    """evaluate.held_out_skip: [base, pruned]: the hand-written sets still get sft → deployed, and the
    test split, where every model scored, keeps every step."""
    chain = [("base", "sft"), ("sft", "rft"), ("rft", "rl"), ("rl", "pruned"), ("pruned", "deployed"), ("deployed", "teacher")]
    off = {"rft": "sft", "rl": "sft"}
    assert split_steps(chain, off, {"sft", "deployed", "teacher"}) == [("base", "sft"), ("sft", "deployed"), ("deployed", "teacher")]
    assert split_steps(chain, off, {"base", "sft", "pruned", "deployed", "teacher"}) == scored_steps(chain, off)
    correct = {"sft": {"a": False, "b": False}, "deployed": {"a": True, "b": False}, "teacher": {"a": True, "b": True}}
    pairs = [(s["before"], s["after"]) for s in step_changes(correct, split_steps(chain, off, set(correct)))]
    assert pairs == [("sft", "deployed"), ("deployed", "teacher")]
