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
        "split": "test", "handwritten_handoff_share": 0.5, "handwritten_exact_match_tiny": 0.3, "handwritten_exact_match_teacher": 0.7,
        "handwritten_exact_match_cascade": 0.6, "target_exact_match": 0.95, "target_reached_on_dev": False, "threshold": 0.42, "dev_handoff_share": 0.3,
        "dev_exact_match_cascade": 0.9, "test_handoff_share": 0.35, "test_exact_match_tiny": 0.5, "test_exact_match_teacher": 0.98,
        "test_exact_match_cascade": 0.91, "cost_per_million_requests_tiny_usd": 12.0, "cost_per_million_requests_teacher_usd": 7000.0,
        "cost_per_million_requests_cascade_usd": 2462.0,
    }
    text = "\n".join(cascade_lines(cascade))
    assert "| deployed alone | 0.500 / 0.300 | 12.00 |" in text and "| teacher alone | 0.980 / 0.700 |" in text
    assert "| cascade (0.350 / 0.500 handed off) | 0.910 / 0.600 | 2462.00 |" in text and "on test / handwritten" in text
    assert "threshold 0.420" in text and "not reached" in text


def test_the_report_puts_test_and_hand_written_side_by_side_per_model_and_category():
    from supertiny.report import held_out_names, model_rows, render_report

    evaluations = {
        "teacher": {"exact_match": 0.98, "similarity": 0.99, "parse_rate": 1.0, "exact_match_simple": 1.0, "exact_match_relative": 0.9,
                    "examples": 150, "handwritten_exact_match": 0.61, "handwritten_similarity": 0.7, "handwritten_parse_rate": 1.0,
                    "handwritten_exact_match_simple": 0.7, "handwritten_exact_match_relative": 0.3, "handwritten_examples": 152},
        "sft": {"exact_match": 0.45, "exact_match_simple": 0.9, "exact_match_relative": 0.1, "examples": 150},
    }
    assert held_out_names(evaluations) == ["handwritten"]
    rows = model_rows(evaluations, 0.1, None)
    assert rows[0]["handwritten_exact_match"] == 0.61 and rows[1]["handwritten_exact_match"] is None
    assert [r["handwritten_exact_match"] for r in category_rows(evaluations)] == [0.7, None, 0.3, None]
    report = render_report("t", evaluations, {}, {}, rows)
    assert "## Test split and hand-written set `handwritten` side by side" in report
    assert "| teacher | 0.980 / 0.610 | 0.990 / 0.700 | 1.000 / 1.000 | 1.00 / 0.70 | 0.90 / 0.30 |" in report
    assert "| sft | 0.450 / – |" in report
    assert "| model | simple | relative | held-out phrasing |" in report  # the test split's own table is unchanged
