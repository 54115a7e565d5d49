"""BFCL's data as supertiny examples, read from the files the pinned `bfcl-eval` wheel ships.

A BFCL entry is a chat (`question`), the functions it may call (`function`, BFCL's own
schema dialect: `dict`, `float`, `tuple`, `any` types) and, outside the irrelevance
categories, its possible answers: for each call, every acceptable value of each argument,
`""` meaning "may be left out". The student sees OpenAI tools, converted as BFCL's own
OpenAI handlers convert them (its `GORILLA_TO_OPENAPI` type table; `.` in a function name
becomes `_`, which OpenAI names cannot hold). Its training answer, the offline teacher's,
is the first acceptable value of each argument.
"""

from __future__ import annotations

import copy
import json
from functools import cache

from bfcl_eval.constants.category_mapping import VERSION_PREFIX
from bfcl_eval.constants.eval_config import POSSIBLE_ANSWER_PATH, PROMPT_PATH
from bfcl_eval.constants.type_mappings import GORILLA_TO_OPENAPI

from supertiny.tasks.custom.files import split_messages

TRAIN_CATEGORIES = ("live_simple", "live_multiple", "live_parallel", "live_parallel_multiple", "live_irrelevance")
TEST_CATEGORIES = ("simple_python", "multiple", "parallel", "parallel_multiple", "irrelevance")
NO_CALL_REPLY = "None of the given functions fits this request."  # the gold answer where BFCL expects no call


def is_irrelevance(category: str) -> bool:
    return "irrelevance" in category  # as bfcl_eval.utils.is_relevance_or_irrelevance reads a category


@cache
def entries(category: str) -> tuple[dict, ...]:
    """The category's entries, each with its possible answer as `ground_truth` (none for irrelevance)."""
    rows = _read(PROMPT_PATH / f"{VERSION_PREFIX}_{category}.json")
    if is_irrelevance(category):
        return tuple(rows)
    answers = {row["id"]: row["ground_truth"] for row in _read(POSSIBLE_ANSWER_PATH / f"{VERSION_PREFIX}_{category}.json")}
    return tuple({**row, "ground_truth": answers[row["id"]]} for row in rows)


def _read(path) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def by_id(category: str) -> dict[str, dict]:
    return {entry["id"]: entry for entry in entries(category)}


def openai_name(name: str) -> str:
    return name.replace(".", "_")


def openai_tool(function: dict) -> dict:
    """A BFCL function as an OpenAI function tool."""
    parameters = _openai_schema(copy.deepcopy(function["parameters"]))
    return {"type": "function", "function": {"name": openai_name(function["name"]), "description": function.get("description", ""),
                                             "parameters": parameters}}


def _openai_schema(schema: dict) -> dict:
    """BFCL's types as JSON schema types, at every depth (BFCL's own conversion stops at two);
    a property without a type is a string, as BFCL reads it."""
    if isinstance(schema.get("type"), str):
        schema["type"] = GORILLA_TO_OPENAPI.get(schema["type"], "string")
    for value in (schema.get("properties") or {}).values():
        value.setdefault("type", "string")
        _openai_schema(value)
    if isinstance(schema.get("items"), dict):
        _openai_schema(schema["items"])
    return schema


def first_answer(ground_truth: list[dict], functions: list[dict]) -> list[dict]:
    """The calls made of each argument's first acceptable value: left out where that is `""`
    (optional), unless the function requires the argument (then the first other value).
    A dict argument's acceptable values are dicts of acceptable values (bfcl's dict_checker),
    a list of dicts' likewise (list_dict_checker): each key takes its first one too."""
    schemas = {f["name"]: f["parameters"] for f in functions}
    calls = []
    for call in ground_truth:
        ((name, options),) = call.items()
        properties, required = schemas[name].get("properties", {}), schemas[name].get("required", [])
        arguments = {}
        for key, values in options.items():
            values = [v for v in values if v != ""] if key in required else values
            if not values or values[0] == "":
                continue  # optional (or, in a few live entries, no acceptable value given)
            value, kind = values[0], properties.get(key, {}).get("type")
            if kind == "dict" and isinstance(value, dict):
                value = _first_of_dict(value)
            elif kind in ("array", "tuple") and isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
                value = [_first_of_dict(v) for v in value]
            arguments[key] = value
        calls.append({"name": openai_name(name), "arguments": arguments})
    return calls


def _first_of_dict(options: dict) -> dict:
    first = {}
    for key, values in options.items():
        value = values[0] if isinstance(values, list) and values else values
        if value != "":
            first[key] = value
    return first


def example(entry: dict, category: str) -> dict | None:
    """A BFCL entry as a task example, or None where its chat is not one request (a few
    live_irrelevance entries are multi-turn chats)."""
    (turn,) = entry["question"]
    try:
        utterance, context, _ = split_messages(turn)
    except ValueError:
        return None
    gold = NO_CALL_REPLY if is_irrelevance(category) else first_answer(entry["ground_truth"], entry["function"])
    return {"id": entry["id"], "input": utterance, "context": context, "category": category,
            "tools": [openai_tool(f) for f in entry["function"]], "gold": gold}


@cache
def category_examples(category: str) -> tuple[dict, ...]:
    """The category's entries that are one request, as task examples (shared: not to be changed)."""
    return tuple(e for e in (example(entry, category) for entry in entries(category)) if e is not None)
