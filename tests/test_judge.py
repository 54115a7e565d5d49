"""The judge's rejections, each from a trace that is wrong in one way."""

from __future__ import annotations

import dataclasses
import copy

import pytest

from supertiny.judge import judge_traces, rejection_reasons
from supertiny.tasks.smart_home.home import CAPABILITY_OF_FUNCTION
from supertiny.tasks.smart_home.tools import consistency_problems
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


# -- a custom task: every call checked against the user's JSON schemas ---------------------------


@pytest.fixture(scope="module")
def crm():
    from custom_feature import ROOT, crm_settings

    from supertiny.tasks import get_task

    task = get_task("custom", crm_settings(tools=str(ROOT / "tests/features/crm/tools.json"), helpers=[]))
    return task, {"id": "x", "input": "we won it", "context": {}, "category": "simple", "messages": [], "status": "ok"}


def crm_reasons(crm, final, **trace_changes):
    task, trace = crm
    return reasons(task, {**trace, "final": final, **trace_changes})


def test_a_custom_task_checks_calls_against_the_users_schemas(crm):
    good = [{"name": "update_deal", "arguments": {"deal_id": "d1", "stage": "won", "amount": 12000}}]
    assert crm_reasons(crm, good) == []
    cases = {
        "unknown_function": {"name": "close_deal", "arguments": {"deal_id": "d1"}},
        "schema_violation": [
            {"name": "update_deal", "arguments": {"deal_id": "d1", "stage": "signed"}},  # enum
            {"name": "update_deal", "arguments": {"deal_id": 7, "stage": "won"}},  # type
            {"name": "update_deal", "arguments": {"stage": "won"}},  # required
            {"name": "update_deal", "arguments": {"deal_id": "d1", "stage": "won", "amount": -5}},  # range
            {"name": "update_deal", "arguments": {"deal_id": "d1", "stage": "won", "owner": "me"}},  # additionalProperties: false
        ],
    }
    for reason, calls in cases.items():
        for call in calls if isinstance(calls, list) else [calls]:
            assert crm_reasons(crm, good + [call]) == [reason], call
    assert crm_reasons(crm, "We can't do that.") == [] and crm_reasons(crm, "") == ["empty_reply"]


def test_arguments_a_schema_does_not_name_are_unknown_unless_it_allows_them(crm):
    loose = {"type": "object", "properties": {"contact_id": {"type": "string"}}}
    tools = [{"type": "function", "function": {"name": "ping", "parameters": loose}}]
    call = [{"name": "ping", "arguments": {"contact_id": "c1", "urgent": True}}]
    assert crm_reasons(crm, call, tools=tools) == ["unknown_argument"]
    tools[0]["function"]["parameters"] = {**loose, "additionalProperties": True}
    assert crm_reasons(crm, call, tools=tools) == []


def test_a_trace_is_judged_against_its_own_tools_where_it_carries_them(crm):
    note = [{"name": "add_note", "arguments": {"contact_id": "c1", "text": "call back"}}]
    own = [{"type": "function", "function": {"name": "add_note", "parameters": {
        "type": "object", "properties": {"contact_id": {"type": "string"}, "text": {"type": "string"}}, "required": ["contact_id", "text"]}}}]
    assert crm_reasons(crm, note) == ["unknown_function"]
    assert crm_reasons(crm, note, tools=own) == []
    assert crm_reasons(crm, [{"name": "log_call", "arguments": {"contact_id": "c1", "outcome": "connected"}}], tools=own) == ["unknown_function"]
    assert crm_reasons(crm, note, tools=own, status="invalid_final") == ["invalid_final"]


# -- issue 16, item 7: replies that claim what was not done, scope words that widened the request --


def test_a_reply_is_short_and_never_claims_an_action_it_did_not_call(task, good_trace, crm):
    from supertiny.tasks.smart_home import phrasing

    honest = [
        phrasing.REPLY_CHITCHAT, phrasing.REPLY_NO_ROOM.format(room="garage"),
        phrasing.REPLY_NO_DEVICE.format(name="kettle", room="office"), phrasing.REPLY_UNSUPPORTED.format(name="lamp", room="bedroom"),
        "Sorry, which device do you mean?",
    ]
    for reply in honest:
        assert reasons(task, with_final(good_trace, reply)) == [], reply
    for reply in ("I can only help with the CRM.", "I can't change deals here.", "Hi! What should I log or update?"):
        assert crm_reasons(crm, reply) == [], reply
    assert reasons(task, with_final(good_trace, "x" * 5_000_000)) == ["reply_too_long"]
    assert reasons(task, with_final(good_trace, "Sorry, I can't."), max_reply_chars=10) == ["reply_too_long"]
    claims = [
        "Done! I switched everything off", "I've turned on the lamp in the kitchen.", "I’ve set the thermostat to 21.",
        "OK, switching the lights off now.", "The lights are now off.", "All set!", "I have gone ahead and dimmed the lights",
        "Your heating has been turned up.",
    ]
    for reply in claims:
        assert reasons(task, with_final(good_trace, reply)) == ["reply_claims_action"], reply
    assert crm_reasons(crm, "Done, I've logged the call.") == ["reply_claims_action"]


@pytest.fixture(scope="module")
def hall_and_bedroom():
    """A generated home whose hallway has a ceiling light and a thermostat, and whose bedroom has a ceiling light."""
    import random

    from supertiny.tasks.smart_home.home import generate_home

    home = generate_home(random.Random(0), "h")
    ids = {d["id"] for d in home["devices"]}
    assert {"hall_ceiling_light", "hall_thermostat", "bedroom_ceiling_light"} <= ids
    return home


@pytest.mark.parametrize("utterance, devices, expected", [
    ("switch off all the lights in the hallway", ["hall_ceiling_light"], []),
    ("switch off all the lights in the hallway", ["bedroom_ceiling_light"], ["out_of_scope_device"]),
    ("switch off all the lights in the hallway", ["hall_ceiling_light", "bedroom_ceiling_light"], ["out_of_scope_device"]),
    ("Switch off every light in the halway please", ["bedroom_ceiling_light"], ["out_of_scope_device"]),  # a typo names it still
    ("switch off all the lights in the hallway", ["hall_thermostat"], ["out_of_scope_device"]),  # not a light
    ("turn off everything in the hallway", ["hall_ceiling_light", "hall_thermostat"], []),  # everything: every kind
    ("turn off all the lights upstairs", ["bedroom_ceiling_light"], []),
    ("turn off all the lights upstairs", ["hall_ceiling_light"], ["out_of_scope_device"]),
    ("turn off all the lights", ["hall_ceiling_light", "bedroom_ceiling_light"], []),  # the whole home
    ("every light in the house off", ["bedroom_ceiling_light"], []),
])
def test_a_scope_word_never_widens_the_request_beyond_its_place_and_kind(task, hall_and_bedroom, utterance, devices, expected):
    trace = {
        "id": "x", "input": utterance, "context": hall_and_bedroom, "category": "parallel", "status": "ok", "messages": [],
        "final": [{"name": "set_power", "arguments": {"device": device, "on": False}} for device in devices],
    }
    assert reasons(task, trace, require_grounded_devices=False) == expected


def test_the_judge_the_served_check_and_the_grammar_agree_on_what_each_device_can_do(task, splits):
    """One capability rule (home.can_call) behind all three: a device a function may name in the
    grammar is exactly one the served check lets through and the judge does not flag."""
    example = splits["test"][0]
    allowed = task.argument_values(example["context"])
    checked = 0
    for function, capability in CAPABILITY_OF_FUNCTION.items():
        if not capability:
            continue
        for device in example["context"]["devices"]:
            call = {"name": function, "arguments": {"device": device["id"]}}
            can = capability in device["capabilities"]
            assert (device["id"] in allowed[f"{function}.device"]) == can
            assert (task.request_calls_problem(example, [call]) is None) == can
            assert ("unsupported_capability" not in consistency_problems(example["context"], [call])) == can
            checked += not can
    assert checked  # the home has devices some function cannot use
