"""The scorer on hand-worked cases."""

from __future__ import annotations

import pytest

from supertiny.score import call_similarity, exact_match, rouge_l_f1, score_predictions, sim_rl


def c(name, **arguments):
    return {"name": name, "arguments": arguments}


def test_exact_match_is_order_free_and_normalises_values():
    gold = [c("set_power", device="a", on=True), c("play_media", device="b", query="The Beatles")]
    assert exact_match([c("play_media", device="b", query=" the  beatles "), c("set_power", device="a", on=True)], gold)
    assert exact_match([c("set_brightness", device="a", level=40.0)], [c("set_brightness", device="a", level=40)])
    assert not exact_match([c("set_power", device="a", on=True)], gold)  # a call missing
    assert not exact_match(gold + [c("set_power", device="a", on=True)], gold)  # a call too many
    assert not exact_match([c("set_power", device="a", on=False), gold[1]], gold)
    assert not exact_match(None, gold)
    assert not exact_match("Sorry.", gold)


def test_a_gold_reply_is_matched_by_any_reply_but_not_by_calls():
    assert exact_match("Sorry, I can't.", "Sorry, there is no fan in the kitchen.")
    assert not exact_match([c("set_power", device="a", on=True)], "Sorry.")


def test_rouge_l_f1_by_hand():
    # LCS of "the cat sat" and "the cat on the mat sat" is "the cat sat": P=3/3, R=3/6, F1=2/3.
    assert rouge_l_f1("the cat sat", "the cat on the mat sat") == pytest.approx(2 / 3)
    assert rouge_l_f1("Hello, World!", "hello world") == 1.0
    assert rouge_l_f1("abc", "xyz") == 0.0


def test_call_similarity_divides_by_the_union_of_keys():
    # shared keys: device (exact string, ROUGE 1.0) and level (10 vs 20: 0); union has 3 keys.
    predicted = c("set_timer", device="kitchen", level=10, label="pasta")
    gold = c("set_timer", device="kitchen", level=20)
    assert call_similarity(predicted, gold) == pytest.approx(1 / 3)
    # a string argument gets partial credit: "rock music" vs "rock": P=1/2, R=1 -> F1=2/3
    assert call_similarity(c("play_media", query="rock music"), c("play_media", query="rock")) == pytest.approx(2 / 3)
    assert call_similarity(c("x"), c("x")) == 1.0


def test_sim_rl_greedy_matching_and_denominator():
    gold = [c("set_power", device="a", on=True), c("set_power", device="b", on=True), c("set_timer", minutes=5)]
    # pred 1 matches gold a fully (1.0); pred 2 (device b, on False) matches gold b: 1/2;
    # pred 3 has no gold of its name: 0; unmatched gold: set_timer -> denominator 3 + 1.
    prediction = [c("set_power", device="a", on=True), c("set_power", device="b", on=False), c("set_volume", device="a", level=3)]
    assert sim_rl(prediction, gold) == pytest.approx((1.0 + 0.5 + 0.0) / 4)
    assert sim_rl(gold, gold) == 1.0
    assert sim_rl([], gold) == 0.0
    assert sim_rl(None, gold) == 0.0
    assert sim_rl("Sorry, no.", "Sorry, no fan.") == pytest.approx(rouge_l_f1("Sorry, no.", "Sorry, no fan."))
    assert sim_rl("Sorry", gold) == 0.0


def test_sim_rl_matches_each_gold_call_once():
    gold = [c("set_power", device="a", on=True)]
    prediction = [c("set_power", device="a", on=True), c("set_power", device="a", on=True)]
    assert sim_rl(prediction, gold) == pytest.approx(1.0 / 2)


def test_score_predictions_aggregates_per_category_and_parse_rate():
    rows = [
        {"prediction": [c("set_power", device="a", on=True)], "gold": [c("set_power", device="a", on=True)], "category": "simple"},
        {"prediction": None, "gold": [c("set_power", device="a", on=True)], "category": "simple"},
        {"prediction": "Sorry.", "gold": "Sorry.", "category": "irrelevance", "held_out_phrasing": True},
    ]
    metrics = score_predictions(rows)
    assert metrics["exact_match"] == pytest.approx(2 / 3, abs=1e-4)
    assert metrics["exact_match_simple"] == 0.5
    assert metrics["exact_match_irrelevance"] == 1.0
    assert metrics["parse_rate"] == pytest.approx(2 / 3, abs=1e-4)
    assert metrics["exact_match_held_out_phrasing"] == 1.0
    assert metrics["examples"] == 3
