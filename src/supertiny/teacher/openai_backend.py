"""The `openai` teacher backend: any OpenAI-compatible chat endpoint with tools.

The key is read from the environment variable that `teach.api_key_env` names; it is
never written anywhere. Retries, failure counts and the response cache live in
`teacher.client`; this module turns the tool loop's turns into requests and back.
"""

from __future__ import annotations

import json

from supertiny.params import TeachParams
from supertiny.teacher.client import ChatClient


class OpenAIBackend:
    name = "openai"

    def __init__(self, params: TeachParams):
        self.params = params
        self.model = params.model
        self.batch = params.batch  # run_teacher sends each tool-loop round as one Batch API job (teacher.batch)
        self.client = ChatClient(params)

    def request(self, messages: list[dict], tools: list[dict], sample: int = 0) -> dict:
        """The request, exactly as hashed for the cache; each self-consistency sample has its own seed."""
        return {
            "model": self.params.model,
            "messages": messages,
            "tools": tools,
            "temperature": self.params.temperature,
            "max_tokens": self.params.max_tokens,
            "seed": self.params.seed + sample,
        }

    def complete(self, messages: list[dict], tools: list[dict], sample: int = 0) -> tuple[dict, dict]:
        return self.answer(*self.client.create(self.request(messages, tools, sample)))

    async def acomplete(self, messages: list[dict], tools: list[dict], sample: int = 0) -> tuple[dict, dict]:
        """`complete` on the client's request loop, where `run_teacher` keeps hundreds of tool loops in flight."""
        return self.answer(*await self.client.acreate(self.request(messages, tools, sample)))

    def answer(self, response: dict, fresh: bool) -> tuple[dict, dict]:
        """(assistant message, usage) the tool loop takes from a checked chat completion; `fresh`: paid now."""
        reply = assistant_message(response["choices"][0]["message"])
        if fresh and any(not _is_json_object(c["function"]["arguments"]) for c in reply.get("tool_calls", [])):
            self.client.stats.add("failures_malformed_tool_call")  # the loop hands the error back to the model
        usage = response.get("usage") or {}
        return reply, {
            "prompt_tokens": usage.get("prompt_tokens") or 0,
            "completion_tokens": usage.get("completion_tokens") or 0,
        }

    def counters(self) -> dict[str, int | float]:
        return {**self.client.stats.as_metrics(), "rate_limit_wait_s": round(self.client.limits.waited_s, 1)}


def assistant_message(message: dict) -> dict:
    """The reply as it goes back into the conversation: OpenAI format, arguments as JSON strings."""
    reply = {"role": "assistant", "content": message.get("content")}
    tool_calls = []
    for index, call in enumerate(message.get("tool_calls") or []):
        function = call.get("function") or {}
        arguments = function.get("arguments")
        tool_calls.append({
            "id": call.get("id") or f"call_{index}",
            "type": "function",
            "function": {
                "name": function.get("name") or "",
                "arguments": arguments if isinstance(arguments, str) else json.dumps(arguments if arguments is not None else {}),
            },
        })
    if tool_calls:
        reply["tool_calls"] = tool_calls
    return reply


def _is_json_object(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except json.JSONDecodeError:
        return False
