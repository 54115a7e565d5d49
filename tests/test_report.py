"""Report data: the per-category chart's rows and the serving cost."""

from __future__ import annotations

import pytest

from supertiny.report import category_rows, cost_per_million_requests


def test_category_rows_group_bars_by_category_and_skip_missing_values():
    evaluations = {
        "base": {"exact_match": 0.2, "exact_match_simple": 0.1, "exact_match_irrelevance": 1.0, "exact_match_held_out_phrasing": 0.3},
        "sft": {"exact_match": 0.5, "exact_match_simple": 0.9},
    }
    rows = category_rows(evaluations)
    assert [(r["category"], r["model"], r["exact_match"]) for r in rows] == [
        ("simple", "base", 0.1), ("simple", "sft", 0.9), ("irrelevance", "base", 1.0),
    ]
    assert rows[0]["label"] == "simple · base"


def test_cost_per_million_requests_is_machine_time_at_one_request_at_a_time():
    # 360 ms a request = 100 hours per million requests, at $0.10 an hour
    assert cost_per_million_requests(360.0, 0.10) == pytest.approx(10.0)
