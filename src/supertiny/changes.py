"""The student's answer to a trace: the teacher's final calls, with every number the teacher
computed from a value it looked up written as that value and a step (`tool_format.Change`).

A relative request ("a bit brighter", "I can't hear anything in here") makes the teacher read
the device's state (a helper call whose arguments name the device, answering with its current
number) and set current + step. The student sees the same state in its prompt, so its target
`level=45+10` asks it to copy a number it can see and to pick a step; a bare `level=55` asks it
to add, which a 135M model does not learn from a thousand examples. Nothing here is specific to
one task: it applies wherever a trace reads one number about the things a call then changes,
and leaves every other answer as the teacher wrote it.
"""

from __future__ import annotations

import json

from supertiny.tool_format import Answer, Change, is_number


def student_answer(trace: dict) -> Answer:
    final = trace["final"]
    if isinstance(final, str):
        return final
    reads = _numbers_read(trace.get("messages") or [])
    return [_with_changes(call, reads) for call in final] if reads else final


def _numbers_read(messages: list[dict]) -> list[tuple[set, int | float]]:
    """(the string arguments of a lookup, the number it answered), for every helper result
    that is an object holding exactly one number."""
    asked = {}
    for message in messages:
        for call in message.get("tool_calls") or []:
            try:
                arguments = json.loads(call["function"]["arguments"] or "{}")
            except (json.JSONDecodeError, TypeError):
                continue
            if isinstance(arguments, dict):
                asked[call["id"]] = {v for v in arguments.values() if isinstance(v, str)}
    reads = []
    for message in messages:
        if message.get("role") != "tool" or message.get("tool_call_id") not in asked:
            continue
        try:
            result = json.loads(message.get("content") or "")
        except (json.JSONDecodeError, TypeError):
            continue
        numbers = [v for v in result.values() if is_number(v)] if isinstance(result, dict) else []
        if len(numbers) == 1 and asked[message["tool_call_id"]]:
            reads.append((asked[message["tool_call_id"]], numbers[0]))
    return reads


def _with_changes(call: dict, reads: list[tuple[set, int | float]]) -> dict:
    """The call with its number argument rewritten as a change from the value read about the
    things the call names (its string arguments), when the call has one number argument and
    exactly one read matches it."""
    names = {v for v in call["arguments"].values() if isinstance(v, str)}
    matching = [number for about, number in reads if about <= names]
    numbers = [key for key, value in call["arguments"].items() if is_number(value)]
    if len(matching) != 1 or len(numbers) != 1 or type(call["arguments"][numbers[0]]) is not type(matching[0]):
        return call
    current, key = matching[0], numbers[0]
    return {"name": call["name"], "arguments": {**call["arguments"], key: Change(current, call["arguments"][key] - current)}}


def with_student_golds(examples: list[dict], traces: list[dict]) -> list[dict]:
    """The examples with each gold answer in the student's form, taken from the teacher's trace
    of the same example where the teacher answered exactly the gold (its lookups show which
    numbers were changes); scores that teacher-force the gold then ask for what the student
    was taught to write."""
    by_id = {trace["id"]: trace for trace in traces if "id" in trace}
    rewritten = []
    for example in examples:
        trace = by_id.get(example.get("id"))
        if trace is not None and trace.get("final") == example["gold"]:
            example = {**example, "gold": student_answer(trace)}
        rewritten.append(example)
    return rewritten
