"""Report data: the per-category chart's rows and the serving cost."""

from __future__ import annotations

import pytest

from supertiny.report import cascade_lines, category_rows, cost_per_million_requests


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


def test_the_cascade_section_shows_tiny_teacher_and_cascade_at_the_calibrated_threshold():
    cascade = {
        "target_exact_match": 0.95, "target_reached_on_dev": False, "threshold": 0.42, "dev_handoff_share": 0.3,
        "dev_exact_match_cascade": 0.9, "test_handoff_share": 0.35, "test_exact_match_tiny": 0.5, "test_exact_match_teacher": 0.98,
        "test_exact_match_cascade": 0.91, "cost_per_million_requests_tiny_usd": 12.0, "cost_per_million_requests_teacher_usd": 7000.0,
        "cost_per_million_requests_cascade_usd": 2462.0,
    }
    text = "\n".join(cascade_lines(cascade))
    assert "| deployed alone | 0.500 | 12.00 |" in text and "| teacher alone | 0.980 |" in text
    assert "| cascade (0.350 handed off) | 0.910 | 2462.00 |" in text
    assert "threshold 0.420" in text and "not reached" in text
