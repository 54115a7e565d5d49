"""Hand-written held-out sets: examples a task ships beside its generator (`Task.held_out_sets`),
checked row by row, scored by `evaluate` as splits of their own, never trained on.

`prepare` loads them here: a bad row stops it with one line naming the file and the line,
and a hand-written request that the generator also drew into train or dev stops it too
(the set would no longer be held out).
"""

from __future__ import annotations

import re
from pathlib import Path

import jsonschema

from supertiny.errors import SupertinyError
from supertiny.jsonl import iter_numbered_jsonl
from supertiny.utterances import normal_text

EXAMPLE_KEYS = ("id", "input", "context", "category", "gold")
GENERATED_SPLITS = ("train", "dev", "test")
TRAINED_ON = ("train", "dev")  # what the teacher answers (train) and is tuned on (dev); the students learn from train


def load_held_out_sets(task) -> dict[str, list[dict]]:
    """name -> checked examples of every held-out set the task ships."""
    sets = {}
    for name, path in task.held_out_sets().items():
        if name in GENERATED_SPLITS or not re.fullmatch(r"[a-z][a-z0-9_]*", name):
            raise SupertinyError(f"task {task.name}: held-out set name {name!r} must be lower-case, not one of {', '.join(GENERATED_SPLITS)}")
        sets[name] = read_held_out_set(task, path)
    return sets


def read_held_out_set(task, path: str | Path) -> list[dict]:
    """The examples of one hand-written set; a SupertinyError naming `path:line` at the first bad row."""
    examples, ids, schemas = [], set(), {t["function"]["name"]: t["function"]["parameters"] for t in task.action_tools}
    for line, row in iter_numbered_jsonl(path, EXAMPLE_KEYS):
        problem = _shape_problem(row, ids, schemas) or next(iter(task.example_problems(row)), None)
        if problem:
            raise SupertinyError(f"{path}:{line}: {problem}")
        ids.add(row["id"])
        examples.append(row)
    if not examples:
        raise SupertinyError(f"{path}: no examples")
    return examples


def _shape_problem(row: dict, ids: set[str], schemas: dict[str, dict]) -> str | None:
    if not isinstance(row["id"], str) or not row["id"]:
        return "id must be a non-empty string"
    if row["id"] in ids:
        return f"id {row['id']!r} is used twice"
    if not isinstance(row["input"], str) or not row["input"].strip():
        return "input must be a non-empty string"
    if not isinstance(row["category"], str):
        return "category must be a string"
    gold = row["gold"]
    if isinstance(gold, str):
        return None if gold.strip() else "gold reply must not be empty"
    if not isinstance(gold, list) or not gold:
        return "gold must be a reply (string) or a non-empty list of calls"
    for call in gold:
        if not isinstance(call, dict) or set(call) != {"name", "arguments"} or not isinstance(call["arguments"], dict):
            return f"gold call {call!r} must be {{\"name\": ..., \"arguments\": {{...}}}}"
        if call["name"] not in schemas:
            return f"gold calls unknown function {call['name']!r} (known: {', '.join(schemas)})"
        try:
            jsonschema.validate(call["arguments"], schemas[call["name"]])
        except jsonschema.ValidationError as error:
            where = "/".join(map(str, error.absolute_path)) or "arguments"
            return f"gold call {call['name']}: {where}: {error.message}"
    return None


def held_out_requests(held_out: dict[str, list[dict]]) -> frozenset[str]:
    """Every held-out request as `normal_text` gives it: what a generator must not draw (`Task.generate`'s `keep_out`)."""
    return frozenset(normal_text(example["input"]) for examples in held_out.values() for example in examples)


def check_kept_out(held_out: dict[str, list[dict]], splits: dict[str, list[dict]]) -> None:
    """Stop if a held-out request also appears (normalised) in a split that anything trains on."""
    for split in TRAINED_ON:
        seen = {normal_text(e["input"]): e["id"] for e in splits.get(split, [])}
        for name, examples in held_out.items():
            for example in examples:
                if normal_text(example["input"]) in seen:
                    raise SupertinyError(
                        f"{name} example {example['id']!r} ({example['input']!r}) is also {split} example "
                        f"{seen[normal_text(example['input'])]!r}: a held-out request must not be trained on (change prepare.seed)"
                    )
