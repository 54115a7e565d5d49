"""Relative changes in the student's answers: numbers the teacher computed from a value it
looked up are taught as `current+step`, and summed and clamped back when parsed."""

from __future__ import annotations

import json

import pytest

from reference_teacher import reference_teacher_traces
from supertiny.changes import student_answer, with_student_golds
from supertiny.tool_format import Change, parse_answer, render_answer


@pytest.fixture(scope="module")
def traces(task, splits):
    examples = [e for e in splits["train"] if e["category"] in ("relative", "simple", "parallel")][:60]
    return reference_teacher_traces(task, examples)


def numbers_set(trace: dict) -> bool:
    return isinstance(trace["final"], list) and any(type(v) is int for c in trace["final"] for v in c["arguments"].values())


def state_value(example: dict, device: str, quantity: str):
    return next(d["state"][quantity] for d in example["context"]["devices"] if d["id"] == device)


def test_a_relative_answer_is_taught_as_the_value_the_prompt_shows_plus_a_step(task, traces):
    relative = [t for t in traces if t["category"] == "relative" and "get_state" in json.dumps(t["messages"]) and numbers_set(t)]
    assert len(relative) >= 5  # ("it's too dark in here" with the light off reads its state, then just switches it on)
    for trace in relative:
        [call] = student_answer(trace)
        [taught] = [v for v in call["arguments"].values() if isinstance(v, Change)]
        quantity = {"set_brightness": "brightness", "set_volume": "volume", "set_temperature": "temperature"}[call["name"]]
        assert taught.current == state_value(trace, call["arguments"]["device"], quantity)  # copied from the context
        # what the student writes parses back, with the tools' ranges, to exactly the teacher's answer
        assert parse_answer(render_answer(student_answer(trace)), task.action_tools) == trace["final"]
    assert {abs(c.step) for t in relative for c in student_answer(t)[0]["arguments"].values() if isinstance(c, Change)} & {1, 3, 10, 30}


def test_answers_without_a_lookup_stay_as_the_teacher_wrote_them(traces):
    others = [t for t in traces if t["category"] != "relative"]
    assert others and all(student_answer(t) == t["final"] for t in others)
    absolute = [t for t in others if numbers_set(t)]
    assert absolute  # "set the lamp to 40": a number the teacher did not compute from a lookup stays a number


def test_an_absolute_number_on_a_device_read_for_another_call_is_left_alone():
    read = [
        {"role": "assistant", "tool_calls": [{"id": "s0", "type": "function", "function": {"name": "get_state", "arguments": json.dumps({"device": "lamp"})}}]},
        {"role": "tool", "tool_call_id": "s0", "content": json.dumps({"power": "on", "brightness": 40})},
    ]
    final = [{"name": "set_brightness", "arguments": {"device": "lamp", "level": 30}},
             {"name": "set_brightness", "arguments": {"device": "hall", "level": 70}},
             {"name": "set_timer", "arguments": {"minutes": 5}}]
    assert student_answer({"final": final, "messages": read}) == [
        {"name": "set_brightness", "arguments": {"device": "lamp", "level": Change(40, -10)}}, final[1], final[2]]
    assert render_answer(student_answer({"final": final, "messages": read})).splitlines()[0] == "set_brightness(device=lamp, level=40-10)"
    # a lookup answering two numbers says nothing about which one was changed
    two = [read[0], {**read[1], "content": json.dumps({"brightness": 40, "color_temp": 3000})}]
    assert student_answer({"final": final, "messages": two}) == final
    assert student_answer({"final": "Sorry, no lamp.", "messages": read}) == "Sorry, no lamp."


def test_changes_parse_summed_and_clamped_to_the_schema_range(task):
    text = "set_brightness(device=lamp, level=95+30)\nset_volume(device=tv, level=20-30)\nset_temperature(device=t, celsius=21+1)"
    assert [c["arguments"] for c in parse_answer(text, task.action_tools)] == [
        {"device": "lamp", "level": 100}, {"device": "tv", "level": 0}, {"device": "t", "celsius": 22}]
    assert [c["arguments"]["level"] for c in parse_answer(text)[:2]] == [125, -10]  # no tools: no ranges to clamp to
    assert parse_answer("set_volume(device=tv, level=1.5+2)") == [{"name": "set_volume", "arguments": {"device": "tv", "level": 3.5}}]
    for broken in ("set_volume(device=tv, level=20+)", "set_volume(device=tv, level=20+-3)", "set_volume(device=tv, level=tv+3)",
                   'set_volume(device=tv, level="20"+3)', "set_volume(device=tv, level=20+3+4)"):
        assert parse_answer(broken, task.action_tools) is None, broken


def test_dev_golds_take_the_students_form_only_where_the_teacher_answered_the_gold(traces):
    relative = next(t for t in traces if t["category"] == "relative" and "get_state" in json.dumps(t["messages"]) and numbers_set(t))
    right = {"id": "d1", "input": relative["input"], "context": relative["context"], "gold": relative["final"]}
    wrong = {**right, "id": "d2", "gold": [{"name": "set_power", "arguments": {"device": "x", "on": True}}]}
    untraced = {**right, "id": "d3"}
    rewritten = with_student_golds([right, wrong, untraced], [{**relative, "id": "d1"}, {**relative, "id": "d2"}])
    assert rewritten[0]["gold"] == student_answer(relative) != relative["final"]
    assert rewritten[1]["gold"] == wrong["gold"] and rewritten[2]["gold"] == relative["final"]
