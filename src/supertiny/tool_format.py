"""The student's output format: one call a line, `name(key=value, ...)`, or a plain reply.

An answer is, everywhere in supertiny, either a list of calls `{"name", "arguments"}` or a
string (a reply). `None` means the model's text could not be parsed.

Why not the Hermes/Qwen `<tool_call>{"name": ..., "arguments": {...}}</tool_call>` blocks:
every answer token is decoded one at a time, and the JSON envelope is half of them (42 tokens
an answer on the smart-home traces, 21 in this syntax, SmolLM2 tokenizer). The student learns
whichever syntax its traces use, and supertiny converts: the teacher side and `supertiny
serve`'s OpenAI `tool_calls` do not change.

Values are JSON, except that a string which is a plain identifier (`bedroom_lamp`) is
written bare; `true`, `false` and `null` are always JSON literals, so a string spelled like
one is quoted. Keys that are not identifiers are JSON strings. A reply is any text whose
lines do not start like a call; text that mixes call lines and other lines is unparseable.

A number may be written as a change, `level=45+10`: the current value the context shows and
the step (`Change`). A 135M student copies a number from its prompt and picks one of a few
steps far more reliably than it adds two numbers (relative requests were its weakest
category, nearly all wrong by the value alone); supertiny does the sum, clamped to the
argument's schema range (`parse_answer(text, tools)`), so the calls it hands on are plain
numbers. Where the student's targets carry changes: `changes.student_answer`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

Answer = list[dict] | str


@dataclass(frozen=True)
class Change:
    """A number written as the current value and a step: `45+10`, `20-30`."""

    current: int | float
    step: int | float

    def __str__(self) -> str:
        return f"{json.dumps(self.current)}{'-' if self.step < 0 else '+'}{json.dumps(abs(self.step))}"

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CALL_START = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*\(")
_RESERVED = {"true", "false", "null"}
_JSON = json.JSONDecoder()


def render_answer(answer: Answer) -> str:
    if isinstance(answer, str):
        return answer
    return "\n".join(render_call(call["name"], call["arguments"]) for call in answer)


def render_call(name: str, arguments: dict) -> str:
    return f"{name}({', '.join(f'{render_key(k)}={render_value(v)}' for k, v in arguments.items())})"


def parse_answer(text: str, tools: list[dict] | None = None) -> Answer | None:
    """Calls if every line of the text is a well-formed call, the text if no line starts
    like a call, else None. Changes are summed, and clamped to the `minimum`/`maximum` the
    call's schema in `tools` gives the argument."""
    text = text.strip()
    if not text:
        return None
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    starts = [bool(_CALL_START.match(line)) for line in lines]
    if not any(starts):
        return text
    if not all(starts):
        return None
    calls = [_parse_call(line) for line in lines]
    return None if any(call is None for call in calls) else [_apply_changes(call, tools or []) for call in calls]


def _apply_changes(call: dict, tools: list[dict]) -> dict:
    if not any(isinstance(value, Change) for value in call["arguments"].values()):
        return call
    schemas = next((t["function"].get("parameters") or {} for t in tools if t["function"]["name"] == call["name"]), {})
    properties = schemas.get("properties") or {}
    arguments = {}
    for key, value in call["arguments"].items():
        if isinstance(value, Change):
            value = value.current + value.step
            bounds = properties.get(key) if isinstance(properties.get(key), dict) else {}
            value = min(bounds.get("maximum", value), max(bounds.get("minimum", value), value))
        arguments[key] = value
    return {"name": call["name"], "arguments": arguments}


def render_key(key: str) -> str:
    return key if _IDENTIFIER.fullmatch(key) else json.dumps(key, ensure_ascii=False)


def render_value(value) -> str:
    if isinstance(value, Change):
        return str(value)
    if isinstance(value, str) and _IDENTIFIER.fullmatch(value) and value not in _RESERVED:
        return value
    return json.dumps(value, ensure_ascii=False)


def _parse_call(line: str) -> dict | None:
    name_end = line.index("(")
    name, pos, arguments = line[:name_end], name_end + 1, {}
    while True:
        pos = _skip_spaces(line, pos)
        if line.startswith(")", pos):
            return {"name": name, "arguments": arguments} if pos == len(line) - 1 else None
        if arguments:
            if not line.startswith(",", pos):
                return None
            pos = _skip_spaces(line, pos + 1)
        key, pos = _read_key(line, pos)
        if key is None or key in arguments or not line.startswith("=", pos):
            return None
        value, pos = _read_value(line, _skip_spaces(line, pos + 1))
        if pos is None:
            return None
        arguments[key] = value


def _read_key(line: str, pos: int) -> tuple[str | None, int]:
    if line.startswith('"', pos):
        key, end = _read_json(line, pos)
        return (key, _skip_spaces(line, end)) if isinstance(key, str) else (None, pos)
    match = _IDENTIFIER.match(line, pos)
    return (match.group(), _skip_spaces(line, match.end())) if match else (None, pos)


def _read_value(line: str, pos: int):
    match = _IDENTIFIER.match(line, pos)
    if match and match.group() not in _RESERVED:
        return match.group(), match.end()
    value, end = _read_json(line, pos)
    if is_number(value) and end is not None and end < len(line) and line[end] in "+-":
        step, step_end = _read_json(line, end + 1)
        if not is_number(step) or line[end + 1] == "-":
            return None, None
        return Change(value, step if line[end] == "+" else -step), step_end
    return value, end


def is_number(value) -> bool:
    """A JSON number: int or float, not a bool."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _read_json(line: str, pos: int):
    try:
        return _JSON.raw_decode(line, pos)
    except json.JSONDecodeError:
        return None, None


def _skip_spaces(line: str, pos: int) -> int:
    while pos < len(line) and line[pos] in " \t":
        pos += 1
    return pos
