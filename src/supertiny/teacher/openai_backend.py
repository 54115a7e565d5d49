"""The `openai` teacher backend: any OpenAI-compatible chat endpoint with tools.

The key is read from the environment variable that `teach.api_key_env` names; it is
never written anywhere.
"""

from __future__ import annotations

import os

from supertiny.errors import SupertinyError
from supertiny.params import TeachParams


class OpenAIBackend:
    name = "openai"

    def __init__(self, params: TeachParams):
        from openai import OpenAI

        key = os.environ.get(params.api_key_env)
        if not key:
            if params.base_url is None:
                raise SupertinyError(
                    f"params.yaml: teach.backend is openai but the environment variable {params.api_key_env} is not set"
                )
            key = "not-needed"  # local OpenAI-compatible servers often accept any key
        self.params = params
        self.model = params.model
        self.client = OpenAI(base_url=params.base_url, api_key=key)

    def request(self, messages: list[dict], tools: list[dict]) -> dict:
        return {
            "model": self.params.model,
            "messages": messages,
            "tools": tools,
            "temperature": self.params.temperature,
            "max_tokens": self.params.max_tokens,
            "seed": self.params.seed,
        }

    def complete(self, messages: list[dict], tools: list[dict]) -> tuple[dict, dict]:
        response = self.client.chat.completions.create(**self.request(messages, tools))
        message = response.choices[0].message
        reply = {"role": "assistant", "content": message.content}
        if message.tool_calls:
            reply["tool_calls"] = [
                {"id": c.id, "type": "function", "function": {"name": c.function.name, "arguments": c.function.arguments}}
                for c in message.tool_calls
            ]
        usage = response.usage
        return reply, {
            "prompt_tokens": getattr(usage, "prompt_tokens", 0) or 0,
            "completion_tokens": getattr(usage, "completion_tokens", 0) or 0,
        }
