"""The student's output format: Hermes/Qwen `<tool_call>{json}</tool_call>` blocks or a plain reply.

An answer is, everywhere in supertiny, either a list of calls `{"name", "arguments"}` or a
string (a reply). `None` means the model's text could not be parsed.
"""

from __future__ import annotations

import json
import re

Answer = list[dict] | str

_BLOCK = re.compile(r"<tool_call>\s*(.*?)\s*</tool_call>", re.S)


def render_answer(answer: Answer) -> str:
    if isinstance(answer, str):
        return answer
    return "\n".join(
        "<tool_call>" + json.dumps({"name": c["name"], "arguments": c["arguments"]}, ensure_ascii=False) + "</tool_call>"
        for c in answer
    )


def parse_answer(text: str) -> Answer | None:
    """Calls if the text holds well-formed tool-call blocks, the text if it holds none, else None."""
    text = text.strip()
    if "<tool_call>" not in text and "</tool_call>" not in text:
        return text or None
    blocks = _BLOCK.findall(text)
    if len(blocks) != text.count("<tool_call>") or len(blocks) != text.count("</tool_call>"):
        return None
    calls = []
    for block in blocks:
        try:
            payload = json.loads(block)
        except json.JSONDecodeError:
            return None
        if not isinstance(payload, dict) or not isinstance(payload.get("name"), str):
            return None
        arguments = payload.get("arguments", {})
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments)
            except json.JSONDecodeError:
                return None
        if not isinstance(arguments, dict):
            return None
        calls.append({"name": payload["name"], "arguments": arguments})
    return calls
