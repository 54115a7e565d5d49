"""The judge's rejections, each from a trace that is wrong in one way."""

from __future__ import annotations

import dataclasses
import copy

import pytest

from supertiny.judge import judge_traces, rejection_reasons
from presets import shipped
from supertiny.teacher.loop import run_tool_loop
from supertiny.teacher.reference import ReferenceBackend
from supertiny.teacher.run import trace_record


@pytest.fixture(scope="module")
def good_trace(task, splits):
    example = next(
        e for e in splits["test"]
        if e["category"] == "simple" and any(d["kind"] == "ceiling_light" for d in e["context"]["devices"])
    )
    backend = ReferenceBackend(task)
    trace = trace_record(example, run_tool_loop(backend, task, example, 6), backend)
    assert trace["final"] == example["gold"]
    return trace


def with_final(trace, final, **changes):
    changed = copy.deepcopy(trace)
    changed["final"] = final
    changed.update(changes)
    return changed


def reasons(task, trace, **params):
    return rejection_reasons(task, trace, dataclasses.replace(shipped().judge, **params))


def test_a_good_trace_is_accepted(task, good_trace):
    assert reasons(task, good_trace) == []


def test_each_kind_of_bad_trace_is_rejected_for_its_reason(task, good_trace):
    device = good_trace["final"][0]["arguments"]["device"]
    ceiling = next(d["id"] for d in good_trace["context"]["devices"] if d["kind"] == "ceiling_light")
    power = {"name": "set_power", "arguments": {"device": device, "on": True}}
    cases = {
        "unknown_function": [{"name": "launch_rocket", "arguments": {}}],
        "schema_violation": [{"name": "set_brightness", "arguments": {"device": device, "level": 150}}],
        "unknown_device": [{"name": "set_power", "arguments": {"device": "moon_lamp", "on": True}}],
        "unsupported_capability": [{"name": "set_color", "arguments": {"device": ceiling, "color": "red"}}],
        "duplicate_call": [power, power],
        "conflicting_calls": [power, {"name": "set_power", "arguments": {"device": device, "on": False}}],
        "empty_answer": [],
        "empty_reply": "  ",
    }
    for reason, final in cases.items():
        assert reason in reasons(task, with_final(good_trace, final)), reason
    assert reasons(task, with_final(good_trace, None, status="max_turns")) == ["max_turns"]
    too_many = [{"name": "set_timer", "arguments": {"minutes": m}} for m in range(1, 5)]
    assert "too_many_calls" in reasons(task, with_final(good_trace, too_many), max_calls=3)


def test_a_device_the_teacher_never_looked_up_is_ungrounded(task, good_trace):
    blind = copy.deepcopy(good_trace)
    blind["messages"] = [m for m in blind["messages"] if m["role"] != "tool"]
    assert reasons(task, blind) == ["ungrounded_device"]
    assert reasons(task, blind, require_grounded_devices=False) == []


def test_a_device_the_request_does_not_mention_is_rejected(task, good_trace):
    other_room = next(
        d for d in good_trace["context"]["devices"]
        if d["room"] not in good_trace["input"].lower() and sum(x["kind"] == d["kind"] for x in good_trace["context"]["devices"]) > 1
        and d["name"] not in good_trace["input"].lower()
    )
    wrong = with_final(good_trace, [{"name": "set_power", "arguments": {"device": other_room["id"], "on": True}}])
    wrong["messages"].append({"role": "tool", "tool_call_id": "x", "content": f'[{{"id": "{other_room["id"]}"}}]'})
    assert reasons(task, wrong) == ["unmentioned_device"]


def test_judge_traces_splits_and_counts(task, good_trace):
    bad = with_final(good_trace, [{"name": "set_power", "arguments": {"device": "moon_lamp", "on": True}}])
    accepted, rejected, metrics = judge_traces(task, [good_trace, bad, good_trace], shipped().judge)
    assert len(accepted) == 2 and len(rejected) == 1
    assert rejected[0]["rejected_because"] == ["unknown_device"]
    assert metrics == {"traces": 3, "accepted": 2, "rejected": 1, "acceptance_rate": 0.6667, "rejected_unknown_device": 1}
