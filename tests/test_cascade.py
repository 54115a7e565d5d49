"""The cascade's threshold: picked on known answers, the fewest hand-offs that reach the target."""

from __future__ import annotations

import math

import pytest

from supertiny.cascade import HAND_OFF_ALL, Answered, at_threshold, blended_cost_per_million, cascade_curve, pick_threshold
from supertiny.runtime.prediction import lowest_token_probability

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


def test_costs_and_confidence():
    assert blended_cost_per_million(0.1, 3.0, 7000.0) == pytest.approx(703.0)
    assert lowest_token_probability([math.log(0.9), math.log(0.2), 0.0]) == pytest.approx(0.2)
    assert lowest_token_probability([]) is None
