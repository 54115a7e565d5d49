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


def request_key(messages: list[dict], tools: list[dict]) -> str:
    """The conversation up to the first answer, and the tools: what identifies a request in every turn."""
    opening = []
    for message in messages:
        if message["role"] not in ("system", "developer", "user"):
            break
        opening.append({"role": message["role"], "content": message.get("content")})
    return json.dumps([opening, tools], sort_keys=True, ensure_ascii=False)


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
                tools = self.task.helper_tools + example_tools(self.task, example)  # as the tool loop offers them
                self.answers[request_key(self.task.teacher_messages(example), tools)] = example["gold"]

    def complete(self, messages: list[dict], tools: list[dict], sample: int = 0) -> tuple[dict, dict]:
        gold = self.answers.get(request_key(messages, tools))
        if gold is None:
            with self._lock:
                self.missing += 1
        reply = answer_message(gold if gold is not None else "")
        return reply, {"prompt_tokens": estimate_tokens([messages, tools]), "completion_tokens": estimate_tokens(reply)}

    def counters(self) -> dict[str, int]:
        return {"replay_unanswered": self.missing}
