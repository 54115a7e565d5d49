"""OpenAI function schemas: checking a tool list, and checking a call against it.

One place for what "a valid call" means, shared by the teacher's loop (its helper calls and
final answer), the judge (every accepted call), and `prepare` (the gold answers a user
gives): the function exists, its arguments validate against the function's JSON schema
(types, enums, ranges, required keys), and it passes no argument the schema does not name,
unless the schema itself allows extra ones (`additionalProperties` true or a schema).
"""

from __future__ import annotations

import re

import jsonschema

FUNCTION_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")  # what OpenAI accepts as a function name


def schemas_by_name(tools: list[dict]) -> dict[str, dict]:
    return {tool["function"]["name"]: tool["function"].get("parameters", {"type": "object"}) for tool in tools}


def tool_problem(tool) -> str | None:
    """Why one entry of a `tools` list is not a usable function tool, or None."""
    if not isinstance(tool, dict) or tool.get("type") != "function" or not isinstance(tool.get("function"), dict):
        return 'must be {"type": "function", "function": {...}}'
    function = tool["function"]
    name = function.get("name")
    if not isinstance(name, str) or not FUNCTION_NAME.fullmatch(name):
        return f"function name {name!r} must be 1-64 letters, digits, _ or -"
    if "description" in function and not isinstance(function["description"], str):
        return f"{name}: description must be a string"
    schema = function.get("parameters", {"type": "object"})
    if not isinstance(schema, dict):
        return f"{name}: parameters must be a JSON schema object"
    try:
        jsonschema.validators.validator_for(schema).check_schema(schema)
    except jsonschema.SchemaError as error:
        where = "/".join(map(str, error.absolute_path)) or "parameters"
        return f"{name}: parameters is not a valid JSON schema ({where}: {error.message[:200]})"
    if schema.get("type", "object") != "object":
        return f"{name}: parameters must describe an object (type: object)"
    return None


def tools_problem(tools) -> tuple[int | None, str] | None:
    """(index of the bad tool or None, why) when `tools` is not a list of valid, distinct function tools."""
    if not isinstance(tools, list) or not tools:
        return None, "must be a non-empty JSON list of function tools (what you send as tools=)"
    seen = set()
    for index, tool in enumerate(tools):
        problem = tool_problem(tool)
        if problem is None and tool["function"]["name"] in seen:
            problem = f"function {tool['function']['name']!r} is defined twice"
        if problem:
            return index, problem
        seen.add(tool["function"]["name"])
    return None


def validation_error(schema: dict, arguments: dict) -> str | None:
    """Why `arguments` break `schema` (JSON schema validation), or None."""
    try:
        jsonschema.validate(arguments, schema)
    except jsonschema.ValidationError as error:
        where = "/".join(map(str, error.absolute_path)) or "arguments"
        return f"{where}: {error.message}"
    return None


def unknown_arguments(schema: dict, arguments: dict) -> list[str]:
    """Arguments the schema does not name, where it does not allow extra ones."""
    if schema.get("additionalProperties", False) is not False or schema.get("patternProperties"):
        return []
    return [key for key in arguments if key not in schema.get("properties", {})]


def call_problem(call: dict, schemas: dict[str, dict]) -> tuple[str, str] | None:
    """(rule name, message) for the first thing wrong with `call` ({"name", "arguments"}), or None.

    Rule names are the judge's rejection reasons: `unknown_function`, `schema_violation`,
    `unknown_argument` (checked last, so a schema that forbids extra arguments reports them
    as a schema violation)."""
    name, arguments = call.get("name"), call.get("arguments")
    if name not in schemas:
        return "unknown_function", f"calls unknown function {name!r}"
    if not isinstance(arguments, dict):
        return "schema_violation", f"{name}: arguments must be a JSON object"
    if error := validation_error(schemas[name], arguments):
        return "schema_violation", f"{name}: {error}"
    if extra := unknown_arguments(schemas[name], arguments):
        return "unknown_argument", f"{name}: unknown argument {extra[0]!r}"
    return None
