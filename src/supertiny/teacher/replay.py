"""The offline `replay` backend: answers each request with its gold answer, in one turn.

For a custom feature whose requests already carry answers (logs of the feature as it runs
today, or hand-written ones): the pipeline runs end to end with no endpoint and no cost,
and the tests run the real `openai` backend against it behind a loopback server. A request
is recognised by the conversation the teacher starts from (`task.teacher_messages`) and the
tools it is offered (BFCL asks the same words with other functions); one without a gold
answer gets an empty reply, which the judge rejects (`empty_reply`).
Its dev and test accuracy say nothing about any model: it reads the answers.
"""

from __future__ import annotations

import json
import threading

from supertiny.tasks import example_tools
from supertiny.teacher.reference import estimate_tokens


def request_key(messages: list[dict]) -> str:
    """The conversation up to the first answer: what identifies a request in every turn."""
    opening = []
    for message in messages:
        if message["role"] not in ("system", "developer", "user"):
            break
        opening.append({"role": message["role"], "content": message.get("content")})
    return json.dumps(opening, sort_keys=True, ensure_ascii=False)


def tool_names(tools: list[dict]) -> frozenset[str]:
    """Tools by name only: an endpoint sees them as its client serialised them."""
    return frozenset((tool.get("function") or tool).get("name", "") for tool in tools or [])


def answer_message(gold) -> dict:
    """A gold answer as an OpenAI assistant message (arguments as JSON strings)."""
    if isinstance(gold, str):
        return {"role": "assistant", "content": gold}
    calls = [
        {"id": f"call_{i}", "type": "function", "function": {"name": c["name"], "arguments": json.dumps(c["arguments"], ensure_ascii=False)}}
        for i, c in enumerate(gold)
    ]
    return {"role": "assistant", "content": None, "tool_calls": calls}


class ReplayBackend:
    name = "replay"
    model = "replay-gold"

    def __init__(self, task, answered: list[dict] = ()):
        self.task, self.answers, self.missing, self._lock = task, {}, 0, threading.Lock()
        self.remember(answered)

    def remember(self, examples: list[dict]) -> None:
        """Learn the gold answers of `examples` (those without one are left unanswered)."""
        for example in examples:
            if "gold" in example:
                key = request_key(self.task.teacher_messages(example))
                self.answers.setdefault(key, []).append((tool_names(example_tools(self.task, example)), example["gold"]))

    def complete(self, messages: list[dict], tools: list[dict], sample: int = 0) -> tuple[dict, dict]:
        gold = self._gold(request_key(messages), tool_names(tools))
        if gold is None:
            with self._lock:
                self.missing += 1
        reply = answer_message(gold if gold is not None else "")
        return reply, {"prompt_tokens": estimate_tokens([messages, tools]), "completion_tokens": estimate_tokens(reply)}

    def _gold(self, key: str, offered: frozenset[str]):
        """The gold answer of the request with these words whose action tools are all offered:
        BFCL asks the same words with other functions, so the words alone can be ambiguous."""
        candidates = self.answers.get(key, [])
        matching = [gold for names, gold in candidates if names <= offered] if len(candidates) > 1 else [gold for _, gold in candidates]
        return matching[0] if len(matching) == 1 else None

    def counters(self) -> dict[str, int]:
        return {"replay_unanswered": self.missing}
