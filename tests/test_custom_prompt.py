"""The student's prompt for a custom feature, built by the one prompt builder (prompting.py):
no tool schemas where every request has the same tools, a compact line per tool where they
vary; and the served request becomes the same example `prepare` made of a request line."""

from __future__ import annotations

import dataclasses
import json

import pytest
from custom_feature import ROOT, crm_settings
from presets import drawing, shipped

from supertiny.prompting import render_tools, student_messages
from supertiny.serve.protocol import Limits, RequestError, parse_request
from supertiny.tasks import get_task
from supertiny.tasks.smart_home.home import render_compact


@pytest.fixture(scope="module")
def calendar():
    settings = dataclasses.replace(shipped().custom, tools=str(ROOT / "examples/calendar/tools.json"), requests=str(ROOT / "examples/calendar/requests.jsonl"))
    task = get_task("custom", settings)
    return task, task.generate(shipped().prepare)


@pytest.fixture(scope="module")
def crm():
    task = get_task("custom", crm_settings(tools=str(ROOT / "tests/features/crm/tools.json"),
                                           requests=str(ROOT / "tests/features/crm/requests.jsonl"), helpers=[]))
    return task, task.generate(drawing(1))


def test_the_smart_home_prompt_is_unchanged(task, splits):
    example = splits["test"][0]
    system = student_messages(task, example)[0]["content"]
    assert system == f"{task.student_instructions()}\nHome:\n{render_compact(example['context'])}"


def test_one_tool_set_means_no_schemas_in_the_prompt(calendar):
    task, splits = calendar
    example = splits["test"][0]
    system, user = student_messages(task, example)
    assert system["content"] == f"Answer with tool calls, or a short reply if nothing should be done.\nContext:\n{example['context']}"
    assert user == {"role": "user", "content": example["input"]}


def test_varying_tool_sets_put_each_requests_tools_in_its_prompt(crm):
    task, splits = crm
    rows = splits["train"] + splits["dev"] + splits["test"]
    calls_only = next(r for r in rows if r["id"] == "crm-09")
    system = student_messages(task, calls_only)[0]["content"]
    assert system == (
        "Answer with tool calls, or a short reply if nothing should be done.\nTools:\n"
        'log_call(contact_id: string, outcome: "connected"|"voicemail"|"no_answer", minutes?: integer) Log a phone call with a contact.\n'
        "create_task(contact_id: string, title: string, due: string) Create a follow-up task about a contact.\n"
        "Context:\n" + json.dumps(calls_only["context"], separators=(",", ":"))
    )
    everything = next(r for r in rows if r["id"] == "crm-02")
    assert student_messages(task, everything)[0]["content"].count("\n") == 1 + 4 + 2


def test_tool_types_render_compactly():
    tools = [{"type": "function", "function": {"name": "f", "description": "Do  it\nnow.", "parameters": {"type": "object", "required": ["a"], "properties": {
        "a": {"type": "array", "items": {"type": "object", "required": ["x"], "properties": {"x": {"type": "number"}, "y": {}}}},
        "b": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        "c": {"type": ["integer", "boolean"]},
        "d": {"const": "on"},
    }}}}, {"type": "function", "function": {"name": "g"}}]
    assert render_tools(tools) == 'f(a: [{x: number, y?: any}], b?: string|null, c?: integer|boolean, d?: "on") Do it now.\ng()'


def request(**payload) -> bytes:
    return json.dumps({"model": "m", **payload}).encode()


def test_a_served_chat_becomes_the_example_prepare_makes_of_a_request_line(calendar):
    task, splits = calendar
    line = json.loads((ROOT / "examples/calendar/requests.jsonl").read_text().splitlines()[0])
    tools = json.loads((ROOT / "examples/calendar/tools.json").read_text())
    parsed = parse_request(request(messages=line["messages"], tools=tools), "m", Limits(), None, task)
    example = next(r for s in splits.values() for r in s if r["id"] == line["id"])
    assert parsed.example == {"input": example["input"], "context": example["context"]}, "one tool set: the request's tools stay out"
    alone = parse_request(request(messages=line["messages"][-1:]), "m", Limits(), None, task)
    assert alone.example == {"input": example["input"], "context": None}


def test_where_tools_vary_the_served_request_brings_its_tools(crm):
    task, _ = crm
    tools = json.loads((ROOT / "tests/features/crm/tools.json").read_text())[:2]
    messages = [{"role": "user", "content": "Ben didn't pick up"}]
    parsed = parse_request(request(messages=messages, tools=tools, context={"contacts": []}), "m", Limits(), None, task)
    assert parsed.example == {"input": "Ben didn't pick up", "context": {"contacts": []}, "tools": tools}
    for payload, problem in [({}, "send them as `tools`"), ({"tools": [{"type": "function"}]}, "tools[0]: must be")]:
        with pytest.raises(RequestError) as refused:
            parse_request(request(messages=messages, **payload), "m", Limits(), None, task)
        assert refused.value.status == 400 and problem in refused.value.message and refused.value.param == "tools"
