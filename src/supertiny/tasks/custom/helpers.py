"""The user's helper functions: lookups the prototype teacher may call before it answers.

Each is named `module:function` in `custom.helpers`. Its first parameter receives the
request's context; its other parameters are the tool's arguments, and its OpenAI schema is
read from its signature (type hints, defaults) and docstring, so the user writes a plain
Python function and nothing else. Modules are imported with the project root first on the
import path, so `examples.calendar.helpers:find_contact` needs no install.
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
import types
import typing
from typing import Any, Callable, Literal

from supertiny.errors import SupertinyError

_JSON_TYPES = {str: "string", int: "integer", float: "number", bool: "boolean", list: "array", dict: "object"}


def load_helpers(specs: list[str]) -> tuple[list[dict], dict[str, Callable]]:
    """(OpenAI tool schemas, name -> function) of the helpers `specs` names."""
    tools, functions = [], {}
    for spec in specs:
        function = _import(spec)
        name = spec.partition(":")[2]
        if name in functions:
            raise SupertinyError(f"params.yaml: custom.helpers names {name!r} twice")
        tools.append(helper_schema(name, function, spec))
        functions[name] = function
    return tools, functions


def _import(spec: str) -> Callable:
    module_name, _, function_name = spec.partition(":")
    root = os.getcwd()
    if root not in sys.path:
        sys.path.insert(0, root)
    try:
        module = importlib.import_module(module_name)
    except Exception as error:  # whatever the user's module raises on import, name it in one line
        raise SupertinyError(f"params.yaml: custom.helpers entry {spec!r}: cannot import {module_name!r} ({type(error).__name__}: {error})") from None
    function = getattr(module, function_name, None)
    if not callable(function):
        raise SupertinyError(f"params.yaml: custom.helpers entry {spec!r}: {module_name} has no function {function_name!r}")
    return function


def helper_schema(name: str, function: Callable, spec: str) -> dict:
    """The OpenAI function schema of `function(context, ...)`: one property per parameter after
    the first, typed from its hint, required unless it has a default."""
    parameters = list(inspect.signature(function).parameters.values())
    if not parameters or parameters[0].kind not in (parameters[0].POSITIONAL_ONLY, parameters[0].POSITIONAL_OR_KEYWORD):
        raise SupertinyError(f"params.yaml: custom.helpers entry {spec!r}: its first parameter must take the request's context")
    try:
        hints = typing.get_type_hints(function)
    except Exception:  # unresolvable hints: the arguments go untyped
        hints = {}
    properties, required = {}, []
    for parameter in parameters[1:]:
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD, parameter.POSITIONAL_ONLY):
            raise SupertinyError(f"params.yaml: custom.helpers entry {spec!r}: parameter {parameter.name!r} must be a plain named parameter")
        properties[parameter.name] = json_type(hints.get(parameter.name, Any))
        if parameter.default is parameter.empty:
            required.append(parameter.name)
    description = inspect.cleandoc(function.__doc__ or "").split("\n\n")[0].replace("\n", " ")
    function_schema = {"name": name, "parameters": {"type": "object", "properties": properties, "required": required, "additionalProperties": False}}
    if description:
        function_schema = {"name": name, "description": description, "parameters": function_schema["parameters"]}
    return {"type": "function", "function": function_schema}


def json_type(hint) -> dict:
    """The JSON schema of a type hint: str, int, float, bool, list[...], dict, Literal[...], X | None."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [option for option in typing.get_args(hint) if option is not type(None)]
        return json_type(options[0]) if len(options) == 1 else {"anyOf": [json_type(option) for option in options]}
    if origin is Literal:
        return {"enum": list(typing.get_args(hint))}
    if origin in (list, tuple) or hint in (list, tuple):
        items = typing.get_args(hint)
        return {"type": "array", **({"items": json_type(items[0])} if items else {})}
    if origin is dict or hint is dict:
        return {"type": "object"}
    if hint in _JSON_TYPES:
        return {"type": _JSON_TYPES[hint]}
    return {}
