"""A Lark grammar of the answers one request allows, for constrained decoding (`generation.constrained`).

Built per request from the tool schemas and the request's context, in the syntax of
`tool_format`: one call a line, a known function, its argument names in schema order (the
order every rendered answer uses), required ones present, values of the schema's type
(enums and consts as their rendered literals), and arguments whose values the context lists
(smart_home: `device`, one of the home's device ids, and for each function one that can do
it; `Task.argument_values`) limited to those, numbers optionally written as a change (`45+10`); or a plain reply whose lines do not start like a call. Every text the grammar
accepts parses (`parse_answer`), so the deployed model's parse rate is 1.0 and a call can
only name a device the home has. onnxruntime-genai compiles it with llguidance
(`GeneratorParams.set_guidance("lark_grammar", ...)`), which masks the logits token by token.

Strings, numbers, call lines and replies are bounded (the constants below) so that even a
model that never stops within a line ends inside `generation.max_new_tokens` most of the time.
"""

from __future__ import annotations

import json

from supertiny.tool_format import render_key, render_value

MAX_CALLS = 8          # call lines an answer may have (a parallel answer on the test split has at most 4)
MAX_STRING = 64        # characters of a string value
MAX_DIGITS = 10        # digits of a number's integer part
MAX_REPLY_LINES = 4
MAX_REPLY_LINE = 200   # characters of a reply line

_TERMINALS = rf"""
IDENT: /[A-Za-z_][A-Za-z0-9_]{{0,{MAX_STRING - 1}}}/
JSTRING: /"([^"\\\x00-\x1f]|\\["\\\/bfnrt]|\\u[0-9a-fA-F]{{4}}){{0,{MAX_STRING}}}"/
INT: /-?(0|[1-9][0-9]{{0,{MAX_DIGITS - 1}}})/
NUMBER: /-?(0|[1-9][0-9]{{0,{MAX_DIGITS - 1}}})(\.[0-9]{{1,6}})?([eE][-+]?[0-9]{{1,3}})?/
INT_STEP: /[-+](0|[1-9][0-9]{{0,{MAX_DIGITS - 1}}})/
NUMBER_STEP: /[-+](0|[1-9][0-9]{{0,{MAX_DIGITS - 1}}})(\.[0-9]{{1,6}})?/
REPLY_LINE: /[^A-Za-z_\s][^\n]{{0,{MAX_REPLY_LINE - 1}}}/ | /[A-Za-z_][A-Za-z0-9_.\-]{{0,40}}([^A-Za-z0-9_.\-(\n][^\n]{{0,{MAX_REPLY_LINE - 1}}})?/
"""

_JSON_RULES = """
json_value: JSTRING | NUMBER | "true" | "false" | "null" | json_array | json_object
json_array: "[" (json_value (", " json_value)*)? "]"
json_object: "{" (JSTRING ": " json_value (", " JSTRING ": " json_value)*)? "}"
"""


def answer_grammar(tools: list[dict], argument_values: dict[str, list] | None = None) -> str:
    """The Lark grammar (llguidance's dialect) of the answers to a request with these action
    tools; `argument_values`: argument name (or `function.argument`, for that function only)
    -> the only values it may take in this request. An argument with no allowed value is left
    out, or, if required, its function (a home without lights has no set_brightness call)."""
    argument_values = argument_values or {}
    rules = {}  # tool index -> its call rule
    for i, tool in enumerate(tools):
        function = tool["function"]
        schema = function.get("parameters") or {}
        required = set(schema.get("required", []))
        arguments = []
        for key, value in (schema.get("properties") or {}).items():
            allowed = argument_values.get(f"{function['name']}.{key}", argument_values.get(key))
            if allowed is not None and not allowed:
                if key in required:
                    break
                continue
            arguments.append((_literal(render_key(key) + "="), _value_expression(value, allowed), key in required))
        else:
            rules[i] = f"call_{i}: {_literal(function['name'] + '(')} {_arguments(arguments)} \")\""
    start = [
        'start: calls | reply' if rules else 'start: reply',
        f'reply: REPLY_LINE ("\\n" REPLY_LINE){{0,{MAX_REPLY_LINES - 1}}}',
    ]
    if rules:
        start += [f'calls: call ("\\n" call){{0,{MAX_CALLS - 1}}}', "call: " + " | ".join(f"call_{i}" for i in rules)]
    return "\n".join(start + list(rules.values())) + "\n" + _JSON_RULES + _TERMINALS


def _arguments(arguments: list[tuple[str, str, bool]]) -> str:
    """The argument list in order, with a comma before every argument but the first present:
    `head(i)` is what may follow when no argument was written yet, `tail(i)` when one was."""

    def tail(i: int) -> str:
        parts = [f'(", " {key} {value})' + ("" if needed else "?") for key, value, needed in arguments[i:]]
        return " ".join(parts)

    def head(i: int) -> str:
        if i == len(arguments):
            return ""
        key, value, needed = arguments[i]
        first = f"{key} {value} {tail(i + 1)}".strip()
        if needed:
            return first
        rest = head(i + 1)
        return f"(({first}) | ({rest}))" if rest else f"({first})?"

    return head(0) or '""'


def _value_expression(schema, allowed: list | None) -> str:
    if allowed is not None:
        return _choice(allowed)
    if not isinstance(schema, dict):
        return "json_value"
    if "enum" in schema:
        return _choice(schema["enum"])
    if "const" in schema:
        return _choice([schema["const"]])
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return "(" + " | ".join(_value_expression(option, None) for option in schema[key]) + ")"
    kind = schema.get("type")
    if isinstance(kind, list):
        return "(" + " | ".join(_value_expression({**schema, "type": k}, None) for k in kind) + ")"
    return {
        "string": "(IDENT | JSTRING)",
        "integer": "(INT INT_STEP?)",  # a number or a change from the current value (tool_format.Change)
        "number": "(NUMBER NUMBER_STEP?)",
        "boolean": '("true" | "false")',
        "null": '"null"',
    }.get(kind, "json_value")


def _choice(values: list) -> str:
    return "(" + " | ".join(_literal(render_value(v)) for v in values) + ")" if values else "json_value"  # an empty enum: any value


def _literal(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)
