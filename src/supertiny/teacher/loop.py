"""The tool-calling loop every teacher backend walks.

The teacher sees the helper and action tools (the example's own, where its task gives each
request its tool set). Helper calls are validated against their schemas and executed
against the example's context; their results (or errors) go back as `tool` messages. The first message that calls an action tool, or replies in plain text,
ends the trace: its action calls (or its text) are the final answer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from collections.abc import Generator
from typing import Protocol

from supertiny.tasks import Task, example_tools
from supertiny.tool_schemas import schemas_by_name, validation_error

__all__ = ["ChatBackend", "TraceResult", "Usage", "arun_tool_loop", "parse_tool_call", "run_tool_loop", "tool_loop", "schemas_by_name", "validation_error"]


class ChatBackend(Protocol):
    """Anything that answers a chat with tools the way an OpenAI chat endpoint does."""

    name: str
    model: str

    def complete(self, messages: list[dict], tools: list[dict], sample: int = 0) -> tuple[dict, dict]:
        """Return (assistant message in OpenAI format, usage {prompt_tokens, completion_tokens}).

        `sample` numbers the independent self-consistency runs of one input (a sampling
        backend varies its seed with it).
        """
        ...

    def counters(self) -> dict[str, int]:
        """What this backend counted about its endpoint (requests, cache hits, failures by kind)."""
        ...


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    requests: int = 0

    def add(self, usage: dict) -> None:
        self.prompt_tokens += int(usage.get("prompt_tokens", 0))
        self.completion_tokens += int(usage.get("completion_tokens", 0))
        self.requests += 1


@dataclass
class TraceResult:
    messages: list[dict]
    final: list[dict] | str | None
    status: str  # ok | max_turns | invalid_final
    turns: int
    usage: Usage = field(default_factory=Usage)


def parse_tool_call(tool_call: dict) -> tuple[str, dict | None, str | None]:
    """(name, arguments or None, error) of one OpenAI tool call whose arguments are a JSON string."""
    function = tool_call.get("function") or {}
    name = function.get("name", "")
    raw = function.get("arguments") or "{}"
    try:
        arguments = json.loads(raw) if isinstance(raw, str) else raw
    except json.JSONDecodeError as error:
        return name, None, f"arguments are not valid JSON: {error.msg}"
    if not isinstance(arguments, dict):
        return name, None, "arguments must be a JSON object"
    return name, arguments, None


def tool_loop(task: Task, example: dict, max_turns: int) -> Generator[tuple[list[dict], list[dict]], tuple[dict, dict], TraceResult]:
    """One example's tool loop with the asking left out: it yields each turn's (messages, tools)
    and is sent back (assistant message, usage); it returns the TraceResult.

    Why a generator: the same loop is driven one call at a time (`run_tool_loop`), as an
    asyncio task among hundreds (`arun_tool_loop`), and round by round across every pending
    example (the Batch API, `teacher.batch`), and all three must walk it identically."""
    messages = task.teacher_messages(example)
    action_tools = example_tools(task, example)
    tools = task.helper_tools + action_tools
    helpers, actions = schemas_by_name(task.helper_tools), schemas_by_name(action_tools)
    usage = Usage()
    for turn in range(1, max_turns + 1):
        reply, reply_usage = yield messages, tools
        usage.add(reply_usage)
        messages.append(reply)
        tool_calls = reply.get("tool_calls") or []
        if not tool_calls:
            return TraceResult(messages, (reply.get("content") or "").strip(), "ok", turn, usage)
        if any((c.get("function") or {}).get("name") in actions for c in tool_calls):
            final, status = [], "ok"
            for tool_call in tool_calls:
                name, arguments, error = parse_tool_call(tool_call)
                if name not in actions:
                    continue  # helper calls beside the final actions are moot
                if error or validation_error(actions[name], arguments):
                    status = "invalid_final"
                final.append({"name": name, "arguments": arguments if arguments is not None else {}})
            return TraceResult(messages, final, status, turn, usage)
        for tool_call in tool_calls:
            messages.append(
                {"role": "tool", "tool_call_id": tool_call.get("id", ""), "content": _execute(task, example, helpers, tool_call)}
            )
    return TraceResult(messages, None, "max_turns", max_turns, usage)


def run_tool_loop(backend: ChatBackend, task: Task, example: dict, max_turns: int, sample: int = 0) -> TraceResult:
    loop = tool_loop(task, example, max_turns)
    try:
        messages, tools = next(loop)
        while True:
            messages, tools = loop.send(backend.complete(messages, tools, sample))
    except StopIteration as done:
        return done.value


async def arun_tool_loop(backend, task: Task, example: dict, max_turns: int, sample: int = 0) -> TraceResult:
    """`run_tool_loop` for a backend whose `acomplete` is a coroutine: one of many loops on one event loop."""
    loop = tool_loop(task, example, max_turns)
    try:
        messages, tools = next(loop)
        while True:
            messages, tools = loop.send(await backend.acomplete(messages, tools, sample))
    except StopIteration as done:
        return done.value


def _execute(task: Task, example: dict, helpers: dict, tool_call: dict) -> str:
    """Run one helper call; every problem becomes an error result the teacher can read."""
    name, arguments, error = parse_tool_call(tool_call)
    if error is None and name not in helpers:
        error = f"unknown function {name!r}"
    if error is None:
        error = validation_error(helpers[name], arguments)
    if error is None:
        try:
            return json.dumps(task.run_helper(example["context"], name, arguments))
        except Exception as problem:  # a tool error is information for the teacher, not a crash
            error = str(problem)
    return json.dumps({"error": error})
