"""`prepare.task: custom`: the user's feature files become task examples, deterministically,
and every bad input stops `prepare` with one line naming the file, the line and the problem."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
import sys
import typing
from pathlib import Path

import pytest
import yaml
from custom_feature import ROOT, crm_settings
from presets import drawing, shipped

from supertiny.errors import SupertinyError
from supertiny.jsonl import read_jsonl
from supertiny.tasks import get_task
from supertiny.tasks.custom.helpers import helper_schema

TOOLS = json.loads((ROOT / "tests/features/crm/tools.json").read_text())
CONTEXT = {"contacts": [{"id": "c1", "name": "Ana Silva", "company": "Nordwind"}], "deals": []}


@pytest.fixture(autouse=True)
def at_root(monkeypatch):
    monkeypatch.chdir(ROOT)  # params name the feature's files relative to the project root


def prepare(settings, seed: int = 1):
    return get_task("custom", settings).generate(drawing(seed))


def test_the_crm_feature_splits_by_seed_and_by_hand():
    splits = prepare(crm_settings())
    assert {name: len(rows) for name, rows in splits.items()} == {"train": 23, "dev": 7, "test": 7}
    assert splits == prepare(crm_settings()), "the same seed gives the same splits"
    assert splits != prepare(crm_settings(), seed=2)
    ids = {name: [row["id"] for row in rows] for name, rows in splits.items()}
    assert "crm-01" in ids["test"] and "crm-13" in ids["dev"], "a `split` field places a request by hand"
    assert all("gold" in row for name in ("dev", "test") for row in splits[name])
    assert {"crm-35", "crm-36", "crm-37"} <= set(ids["train"]) and all(ids[name] == sorted(ids[name]) for name in ids)
    rows = [row for split in splits.values() for row in split]
    assert all("tools" in row for row in rows), "tool sets vary, so every example carries its own"
    openai_shaped = next(row for row in rows if row["id"] == "crm-02")  # given as OpenAI tool_calls
    assert openai_shaped["gold"] == [{"name": "log_call", "arguments": {"contact_id": "c2", "outcome": "no_answer"}}]
    assert openai_shaped["category"] == "simple" and next(r for r in rows if r["id"] == "crm-08")["category"] == "reply"
    assert next(r for r in rows if r["id"] == "crm-35")["category"] == "unlabeled"


def test_the_shipped_example_reads_its_chats_and_keeps_one_tool_set():
    task = get_task("custom", shipped().custom)
    splits = task.generate(shipped().prepare)
    rows = [row for split in splits.values() for row in split]
    assert not task.tools_vary and not any("tools" in row for row in rows)
    first = next(row for row in rows if row["id"] == "cal-01")
    assert first["input"] == "Book a 30 minute call with Ben tomorrow at 10"
    assert first["context"].startswith("You are Acme's calendar assistant.")
    assert task.teacher_messages(first) == [{"role": "system", "content": first["context"]}, {"role": "user", "content": first["input"]}]
    reply = next(row for row in rows if row["id"] == "cal-06")  # the final assistant message is the gold reply
    assert reply["gold"] == "Sorry, I can only help with your calendar." and reply["category"] == "reply"


def test_helpers_get_schemas_from_their_signatures_and_run_on_the_context():
    task = get_task("custom", crm_settings())
    [find_contact, get_deal] = task.helper_tools
    assert find_contact["function"] == {
        "name": "find_contact", "description": "Contacts whose name contains `name` (case-insensitive).",
        "parameters": {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"], "additionalProperties": False},
    }
    assert get_deal["function"]["parameters"]["required"] == ["deal_id"]
    assert get_deal["function"]["parameters"]["properties"]["with_contacts"] == {"type": "boolean"}
    assert task.run_helper(CONTEXT, "find_contact", {"name": "ana"}) == CONTEXT["contacts"]

    def typed(context, day: str, count: int = 1, tags: list[str] | None = None, mode: typing.Literal["a", "b"] = "a"):
        """First line.

        More."""

    schema = helper_schema("typed", typed, "m:typed")["function"]
    assert schema["description"] == "First line."
    assert schema["parameters"]["properties"] == {
        "day": {"type": "string"}, "count": {"type": "integer"}, "tags": {"type": "array", "items": {"type": "string"}}, "mode": {"enum": ["a", "b"]},
    }


# -- bad input: one line naming the file, the line and the problem -----------------------------


def feature(tmp_path: Path, tools=None, requests=None, tools_text: str | None = None, **settings):
    """A feature in tmp_path from the CRM's files, with `tools` / `requests` (lists of rows) swapped in."""
    tools = tools if tools is not None else TOOLS
    (tmp_path / "tools.json").write_text(tools_text if tools_text is not None else "[\n" + ",\n".join(map(json.dumps, tools)) + "\n]\n")
    rows = requests if requests is not None else [json.loads(line) for line in (ROOT / "tests/features/crm/requests.jsonl").read_text().splitlines()]
    (tmp_path / "requests.jsonl").write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return crm_settings(tools=str(tmp_path / "tools.json"), requests=str(tmp_path / "requests.jsonl"), helpers=[], **settings)


def crm_rows() -> list[dict]:
    return [json.loads(line) for line in (ROOT / "tests/features/crm/requests.jsonl").read_text().splitlines()]


def with_row(number: int, **changes) -> list:
    """The CRM requests with line `number` (1-based) changed (a value of None drops the key)."""
    rows = crm_rows()
    rows[number - 1] = {k: v for k, v in {**rows[number - 1], **changes}.items() if v is not None}
    return rows


def bad_tool(**function_changes) -> list[dict]:
    tools = copy.deepcopy(TOOLS)
    tools[2]["function"].update(function_changes)
    return tools


def error_of(settings) -> str:
    with pytest.raises(SupertinyError) as raised:
        prepare(settings)
    message = str(raised.value)
    assert "\n" not in message
    return message


REQUESTS = "requests.jsonl"


@pytest.mark.parametrize(
    "case, where, problem",
    [
        (dict(tools_text='[{"type": "function",\n "function": {"name": "x",}}]'), "tools.json:2", "invalid JSON"),
        (dict(tools_text='{"tools": []}'), "tools.json:1", "must be a non-empty JSON list of function tools"),
        (dict(tools=bad_tool(parameters={"type": "object", "properties": {"deal_id": {"type": "strng"}}})), "tools.json:4",
         "tool 3: update_deal: parameters is not a valid JSON schema (properties/deal_id/type:"),
        (dict(tools=bad_tool(parameters={"type": "object", "required": "deal_id"})), "tools.json:4", "not a valid JSON schema (required:"),
        (dict(tools=bad_tool(name="log_call")), "tools.json:4", "tool 3: function 'log_call' is defined twice"),
        (dict(tools=bad_tool(name="update deal")), "tools.json:4", "function name 'update deal' must be 1-64 letters"),
        (dict(tools=bad_tool(parameters={"type": "array"})), "tools.json:4", "parameters must describe an object"),
        (dict(requests=crm_rows()[:4] + ['{"id": "x", "input": "hi",'] + crm_rows()[4:]), f"{REQUESTS}:5", "invalid JSON"),
        (dict(requests=with_row(3, gold=[{"name": "close_deal", "arguments": {"deal_id": "d1"}}])), f"{REQUESTS}:3",
         "gold call 1 calls unknown function 'close_deal'"),
        (dict(requests=with_row(3, gold=[{"name": "update_deal", "arguments": {"deal_id": "d1", "stage": "signed"}}])), f"{REQUESTS}:3",
         "gold call 1: update_deal: stage: 'signed' is not one of"),
        (dict(requests=with_row(3, gold=[{"name": "update_deal", "arguments": {"deal_id": 1, "stage": "won"}}])), f"{REQUESTS}:3",
         "gold call 1: update_deal: deal_id: 1 is not of type 'string'"),
        (dict(requests=with_row(3, gold=[{"name": "update_deal", "arguments": {"stage": "won"}}])), f"{REQUESTS}:3",
         "gold call 1: update_deal: arguments: 'deal_id' is a required property"),
        (dict(requests=with_row(2, tool_calls=[{"type": "function", "function": {"name": "log_call", "arguments": '{"contact_id": "c2"'}}])),
         f"{REQUESTS}:2", "tool call 1 (log_call): arguments are not valid JSON"),
        (dict(requests=with_row(11, tools=[{"type": "function", "function": {"name": "send_email", "parameters": {
            "type": "object", "properties": {"contact_id": {"type": "string"}}}}}],  # a schema silent on extra arguments
            gold=[{"name": "send_email", "arguments": {"contact_id": "c1", "template": "intro"}}])), f"{REQUESTS}:11",
         "gold call 1: send_email: unknown argument 'template'"),
        (dict(requests=with_row(9, tools=[{"type": "function", "function": {"name": "log_call", "parameters": {"type": "objekt"}}}])),
         f"{REQUESTS}:9", "tools[0]: log_call: parameters is not a valid JSON schema"),
        (dict(requests=with_row(35, split="dev")), f"{REQUESTS}:35", "split dev needs a gold answer"),
        (dict(requests=with_row(3, split="validation")), f"{REQUESTS}:3", "split must be one of train, dev, test"),
        (dict(requests=with_row(3, messages=[{"role": "user", "content": "hi"}])), f"{REQUESTS}:3", "give either `messages`"),
        (dict(requests=with_row(3, input=None, context=None, messages=[
            {"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}, {"role": "user", "content": "c"}])),
         f"{REQUESTS}:3", "multi-turn chats are not supported"),
        (dict(requests=with_row(3, golden="x")), f"{REQUESTS}:3", "unknown field 'golden'"),
        (dict(requests=with_row(4, id="crm-03")), f"{REQUESTS}:4", "id 'crm-03' is used twice"),
        (dict(requests=with_row(3, tool_calls=[], gold=None)), f"{REQUESTS}:3", "the gold answer has no calls"),
        (dict(requests=[row for row in crm_rows() if row.get("split") != "dev"], test_fraction=0.5, dev_fraction=0.01), REQUESTS,
         "the dev split is empty"),
        (dict(requests=[{"input": "hi", "context": {}, "split": "test", "gold": "hello"}]), REQUESTS, "the train split is empty"),
    ],
)
def test_bad_input_is_one_line_naming_file_line_and_problem(tmp_path, case, where, problem):
    message = error_of(feature(tmp_path, **{k: v for k, v in case.items() if k in ("tools", "requests", "tools_text")},
                               **{k: v for k, v in case.items() if k.endswith("_fraction")}))
    assert message.startswith(f"{tmp_path}/{where}:") or message.startswith(f"{tmp_path}/{where} "), message
    assert problem in message, message


def test_a_tool_schema_error_names_the_line_the_tool_starts_on(tmp_path):
    settings = feature(tmp_path)
    (tmp_path / "tools.json").write_text(json.dumps(bad_tool(parameters={"type": "object", "properties": {"x": {"type": "strng"}}}), indent=2))
    lines = (tmp_path / "tools.json").read_text().splitlines()
    line = int(error_of(settings).split(":")[1])
    assert lines[line - 1].strip() == "{" and '"update_deal"' in "".join(lines[line : line + 4])


def test_missing_files_and_bad_helpers_are_named(tmp_path):
    assert error_of(crm_settings(tools=str(tmp_path / "nope.json"))) == f"{tmp_path}/nope.json: file not found (custom.tools in params.yaml)"
    settings = feature(tmp_path)
    assert "cannot import 'tests.features.nothing' (ModuleNotFoundError" in error_of(
        crm_settings(requests=settings.requests, helpers=["tests.features.nothing:find"]))
    assert "tests.features.crm.helpers has no function 'lookup'" in error_of(crm_settings(helpers=["tests.features.crm.helpers:lookup"]))
    (tmp_path / "clash.py").write_text("def log_call(context, contact_id: str):\n    return []\n")
    sys.path.insert(0, str(tmp_path))
    try:
        assert "custom.helpers: 'log_call' is also a tool in" in error_of(crm_settings(helpers=["clash:log_call"]))
    finally:
        sys.path.remove(str(tmp_path))


def test_the_prepare_stage_stops_in_one_line_before_writing_anything(tmp_path):
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["prepare"]["task"] = "custom"
    params["teach"]["backend"] = "replay"
    params["custom"].update(tools="feature/tools.json", requests="feature/requests.jsonl", helpers=[])
    params["prepare"]["handoffs"] = str(ROOT / params["prepare"]["handoffs"])  # the shipped folder without logs
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    (tmp_path / "feature").mkdir()
    shutil.copy(ROOT / "tests/features/crm/tools.json", tmp_path / "feature/tools.json")
    (tmp_path / "feature/requests.jsonl").write_text("".join(json.dumps(row) + "\n" for row in with_row(5, gold=[{"name": "nope", "arguments": {}}])))
    command = [sys.executable, str(ROOT / "stages" / "prepare.py")]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert result.stderr == "supertiny: error: feature/requests.jsonl:5: gold call 1 calls unknown function 'nope'\n"
    assert not (tmp_path / "data").exists() and not (tmp_path / "metrics").exists()

    shutil.copy(ROOT / "tests/features/crm/requests.jsonl", tmp_path / "feature/requests.jsonl")
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("prepare: data/task: 23 train, 7 dev, 7 test examples")
    assert len(read_jsonl(tmp_path / "data/task/test.jsonl")) == 7
    metrics = json.loads((tmp_path / "metrics/prepare.json").read_text())
    assert metrics["train_examples"] == 23 and metrics["train_unlabeled"] == 3
