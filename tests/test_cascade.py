"""The cascade's threshold: picked on known answers, the fewest hand-offs that reach the target."""

from __future__ import annotations

import math
import typing

import pytest

from supertiny.cascade import HAND_OFF_ALL, Answered, at_threshold, blended_cost_per_million, cascade_curve, pick_threshold
from supertiny.params import GenerationParams
from supertiny.runtime.prediction import CONFIDENCES, answer_confidence

# confident and right, confident and wrong, unsure and wrong (teacher right), unparsed (teacher right)
ROWS = [Answered(0.9, True, True), Answered(0.8, False, False), Answered(0.3, False, True), Answered(None, False, True)]


def test_the_curve_runs_from_no_hand_off_to_all():
    curve = cascade_curve(ROWS)
    assert [p["threshold"] for p in curve] == [0.0, 0.3, 0.8, 0.9, HAND_OFF_ALL]
    # threshold 0 hands off only the answer without confidence
    assert curve[0] == {"threshold": 0.0, "handoff_share": 0.25, "exact_match": 0.5}
    # 0.8: the 0.3 answer goes too, the teacher gets it right
    assert curve[2] == {"threshold": 0.8, "handoff_share": 0.5, "exact_match": 0.75}
    assert curve[-1] == {"threshold": HAND_OFF_ALL, "handoff_share": 1.0, "exact_match": 0.75}  # the teacher alone


def test_the_threshold_is_the_cheapest_point_that_reaches_the_target():
    point, reached = pick_threshold(cascade_curve(ROWS), 0.7)
    assert reached and point["threshold"] == 0.8 and point["handoff_share"] == 0.5  # 0.3 hands off only the unparsed one
    point, reached = pick_threshold(cascade_curve(ROWS), 0.5)
    assert reached and point["handoff_share"] == 0.25


def test_an_unreachable_target_gives_the_most_accurate_point_and_says_so():
    point, reached = pick_threshold(cascade_curve(ROWS), 0.99)
    assert not reached and point["exact_match"] == 0.75 and point["handoff_share"] == 0.5


def test_a_threshold_applies_to_new_requests_as_on_dev():
    test = [Answered(0.95, True, True), Answered(0.2, True, False), Answered(0.5, False, True)]
    assert at_threshold(test, 0.6) == {"threshold": 0.6, "handoff_share": round(2 / 3, 4), "exact_match": round(2 / 3, 4)}


def test_costs():
    assert blended_cost_per_million(0.1, 3.0, 7000.0) == pytest.approx(703.0)


CALL = [{"name": "set_power", "arguments": {"device": "kitchen_lamp", "on": True}}]


def test_lowest_token_confidence_is_the_weakest_token_whatever_the_answer():
    logprobs = [math.log(0.9), math.log(0.2), 0.0]
    assert answer_confidence(logprobs, CALL, "lowest_token") == pytest.approx(0.2)
    assert answer_confidence(logprobs, "Sorry, no fan here.", "lowest_token") == pytest.approx(0.2)
    assert answer_confidence([], CALL, "lowest_token") is None


def test_answer_confidence_is_the_calls_probability_and_a_replys_choice_to_reply():
    logprobs = [math.log(0.9), math.log(0.5), math.log(0.8)]
    assert answer_confidence(logprobs, CALL, "answer") == pytest.approx(0.9 * 0.5 * 0.8)
    assert answer_confidence(logprobs, None, "answer") == pytest.approx(0.36)  # unparsed: scored as calls (the cascade hands it off anyway)
    # a reply: only its first token, the choice not to call; its wording's doubts do not count
    assert answer_confidence(logprobs, "Sorry, no fan here.", "answer") == pytest.approx(0.9)
    tiny = answer_confidence([math.log(0.03)] * 4, CALL, "answer")  # four unsure calls: 8.1e-7, kept to 6 significant digits
    assert tiny == pytest.approx(0.03**4, rel=1e-5) and tiny > 0
    assert answer_confidence([], "ok", "answer") is None
    with pytest.raises(ValueError, match="lowest_token, answer"):
        answer_confidence(logprobs, CALL, "mean")


def test_params_accept_exactly_the_confidence_methods():
    assert typing.get_args(typing.get_type_hints(GenerationParams)["confidence"]) == CONFIDENCES
