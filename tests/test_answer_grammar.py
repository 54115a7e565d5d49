"""Constrained decoding (`generation.constrained`): the per-request answer grammar, and the
deployed runtime decoding under it on the tiny preset, whose unconstrained answers are mostly garbage."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from supertiny.answer_grammar import answer_grammar
from supertiny.runtime.genai import GenaiPredictor
from supertiny.tasks.custom import CustomTask

CRM_TOOLS = json.loads(Path("tests/features/crm/tools.json").read_text())
NEW_TOKENS = 64


def rule(grammar: str, name: str) -> str:
    return next(line.split(": ", 1)[1] for line in grammar.splitlines() if line.startswith(f"{name}: "))


def call_rule(grammar: str, tools: list[dict], function: str) -> str:
    return rule(grammar, f"call_{[t['function']['name'] for t in tools].index(function)}")


def test_smart_home_grammar_names_each_function_its_arguments_in_order_and_only_the_homes_devices(task, splits):
    capabilities = {"power", "brightness", "color", "temperature", "volume", "media"}
    home = next(e["context"] for e in splits["test"] if capabilities <= {c for d in e["context"]["devices"] for c in d["capabilities"]})
    ids = [device["id"] for device in home["devices"]]
    grammar = answer_grammar(task.action_tools, task.argument_values(home))
    assert rule(grammar, "start") == "calls | reply"
    assert rule(grammar, "call").split(" | ") == [f"call_{i}" for i in range(len(task.action_tools))]
    def devices(capability: str) -> str:  # each function names only the devices that can do it
        return "(" + " | ".join(json.dumps(d["id"]) for d in home["devices"] if capability in d["capabilities"]) + ")"

    assert devices("power") != devices("brightness")
    assert call_rule(grammar, task.action_tools, "set_power") == f'"set_power(" "device=" {devices("power")} (", " "on=" ("true" | "false")) ")"'
    assert call_rule(grammar, task.action_tools, "set_brightness") == f'"set_brightness(" "device=" {devices("brightness")} (", " "level=" (INT INT_STEP?)) ")"'
    # enum values as the answer writes them: bare identifiers, JSON strings otherwise
    assert '"color=" ("white" | "\\"warm white\\"" | "red"' in call_rule(grammar, task.action_tools, "set_color")
    # set_timer: `minutes` required, `label` optional and after it
    assert call_rule(grammar, task.action_tools, "set_timer") == '"set_timer(" "minutes=" (INT INT_STEP?) (", " "label=" (IDENT | JSTRING))? ")"'
    other_home = next(e["context"] for e in splits["test"] if {d["id"] for d in e["context"]["devices"]} != set(ids))
    assert answer_grammar(task.action_tools, task.argument_values(other_home)) != grammar  # per request


def test_a_function_no_device_of_the_home_can_do_has_no_call(task, splits):
    home = splits["test"][0]["context"]
    lamps = {**home, "devices": [d for d in home["devices"] if "brightness" in d["capabilities"] and "color" not in d["capabilities"]]}
    assert lamps["devices"], "the test home has a plain dimmable light"
    grammar = answer_grammar(task.action_tools, task.argument_values(lamps))
    kept = [name for name in ("set_power", "set_brightness", "set_color", "set_temperature", "set_volume", "play_media", "set_timer")
            if f'"{name}("' in grammar]
    assert kept == ["set_power", "set_brightness", "set_timer"]
    assert rule(grammar, "call") == " | ".join(f"call_{[t['function']['name'] for t in task.action_tools].index(n)}" for n in kept)
    # no devices at all: a timer or a reply; no callable tool at all: a reply only
    assert '"set_timer("' in answer_grammar(task.action_tools, task.argument_values({**home, "devices": []}))
    only_reply = answer_grammar([t for t in task.action_tools if t["function"]["name"] == "set_color"], task.argument_values(lamps))
    assert rule(only_reply, "start") == "reply" and not [line for line in only_reply.splitlines() if line.startswith("call")]


def test_custom_grammar_follows_the_users_schemas(task):
    grammar = answer_grammar(CRM_TOOLS, CustomTask().argument_values({"contacts": []}))
    assert call_rule(grammar, CRM_TOOLS, "log_call") == (
        '"log_call(" "contact_id=" (IDENT | JSTRING) (", " "outcome=" ("connected" | "voicemail" | "no_answer")) (", " "minutes=" (INT INT_STEP?))? ")"'
    )
    assert call_rule(grammar, CRM_TOOLS, "update_deal").endswith('(", " "amount=" (NUMBER NUMBER_STEP?))? ")"')
    # a function whose first argument is optional: nothing, the first alone or with the rest, or the rest without a leading comma
    optional = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {
        "a": {"type": "integer"}, "b": {"type": "boolean"}}}}}]
    assert rule(answer_grammar(optional), "call_0") == '"f(" (("a=" (INT INT_STEP?) (", " "b=" ("true" | "false"))?) | (("b=" ("true" | "false"))?)) ")"'
    assert rule(answer_grammar([{"type": "function", "function": {"name": "ping"}}]), "call_0") == '"ping(" "" ")"'


@pytest.fixture(scope="module")
def constrained(tiny_exports, task):
    return GenaiPredictor(tiny_exports("int8"), task, NEW_TOKENS, constrained=True)


def test_constrained_answers_always_parse(splits, constrained):
    assert all(p.answer is not None for p in constrained.predict(splits["test"][:8]))


def test_constrained_calls_name_only_known_functions_and_the_homes_devices_that_can_do_them(task, splits, constrained):
    """The tiny model prefers the grammar's reply branch; without it, it must write calls."""
    from supertiny.prompting import prompt_ids
    from supertiny.tool_format import parse_answer

    runtime, functions = constrained.runtime, {t["function"]["name"] for t in task.action_tools}
    for example in splits["test"][:6]:
        grammar = constrained.grammar(example).replace("start: calls | reply", "start: calls")
        new, *_ = runtime.generate(prompt_ids(runtime.tokenizer, task, example), 256, grammar)
        lines = runtime.tokenizer.decode(new, skip_special_tokens=True).split("\n")
        lines = lines[:-1] if len(new) == 256 else lines  # a line cut by the budget is unfinished
        assert lines
        for [call] in (parse_answer(line) for line in lines):
            assert call["name"] in functions
            if "device" in call["arguments"]:
                assert task.request_calls_problem(example, [call]) is None  # a device of the home that can do it


def test_constrained_answers_to_a_custom_tasks_requests_use_their_own_tools(tiny_exports):
    rows = [json.loads(line) for line in Path("tests/features/crm/requests.jsonl").read_text().splitlines() if line.strip()][:4]
    examples = [{"input": r["input"], "context": r["context"], "tools": CRM_TOOLS[:2]} for r in rows]
    predictions = GenaiPredictor(tiny_exports("int8"), CustomTask(), NEW_TOKENS, constrained=True).predict(examples)
    assert all(p.answer is not None for p in predictions)
    for p in predictions:
        if isinstance(p.answer, list):
            assert {c["name"] for c in p.answer} <= {"log_call", "create_task"}
            assert all(set(c["arguments"]) >= {"contact_id"} for c in p.answer)


def test_a_kept_prefix_cache_answers_as_a_fresh_generator_under_each_requests_grammar(tiny_exports, task, splits, constrained):
    home = splits["test"][0]["context"]
    examples = [{**e, "context": home} for e in splits["test"][:4]] + splits["test"][4:6]  # a hub, then other homes
    cached = GenaiPredictor(tiny_exports("int8"), task, NEW_TOKENS, reuse_prefix=True, constrained=True)
    assert [p.text for p in cached.predict(examples)] == [p.text for p in constrained.predict(examples)]


def test_the_runtime_decodes_a_change_under_the_grammar_and_it_parses_to_a_clamped_number(task, splits, constrained):
    """Force the change branch (`level=45+10`): llguidance compiles it, and what comes out parses
    to a number inside the schema's range."""
    from supertiny.prompting import prompt_ids
    from supertiny.tool_format import parse_answer

    runtime, example = constrained.runtime, splits["test"][0]
    brightness = call_rule(constrained.grammar(example), task.action_tools, "set_brightness")
    grammar = "\n".join(
        ["start: call_only", f"call_only: {brightness.replace('(INT INT_STEP?)', '(INT INT_STEP)')}"]
        + [line for line in constrained.grammar(example).splitlines() if line[:1].isupper() or line.startswith("json_")]
    )
    new, *_ = runtime.generate(prompt_ids(runtime.tokenizer, task, example), NEW_TOKENS, grammar)
    text = runtime.tokenizer.decode(new, skip_special_tokens=True)
    assert "+" in text.split("level=")[1] or "-" in text.split("level=")[1], text
    [call] = parse_answer(text, task.action_tools)
    assert 0 <= call["arguments"]["level"] <= 100
