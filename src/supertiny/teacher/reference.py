"""The offline `reference` backend: the task's rule-based agent behind the chat interface.

Its token usage is estimated (4 characters a token over the request and the reply, the
tools' schemas included), so the report can show what an LLM pipeline of the same shape
would be billed.
"""

from __future__ import annotations

import json

from supertiny.tasks import Task


def estimate_tokens(payload) -> int:
    return max(1, len(json.dumps(payload)) // 4)


class ReferenceBackend:
    name = "reference"

    def __init__(self, task: Task):
        self.agent = task.reference_agent()
        self.model = self.agent.name

    def complete(self, messages: list[dict], tools: list[dict], sample: int = 0) -> tuple[dict, dict]:
        reply = self.agent.respond(messages)  # deterministic: every sample is the same
        usage = {"prompt_tokens": estimate_tokens([messages, tools]), "completion_tokens": estimate_tokens(reply)}
        return reply, usage

    def counters(self) -> dict[str, int]:
        return {}  # no endpoint, nothing to count
