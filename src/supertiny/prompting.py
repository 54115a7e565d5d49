"""What the student sees: one compact system message (instructions, tool signatures, the
home) and the user's utterance; what it answers: the rendered calls or a reply.

The prompt is built in Python rather than by passing `tools` to the chat template, so SFT,
RFT, GRPO, evaluation and the serve endpoint all feed the model byte-identical prompts
(trl's GRPO cannot pass `tools` to the template, see STACK.md).
"""

from __future__ import annotations

from importlib import resources

from supertiny.tool_format import Answer, render_answer

CHAT_TEMPLATE = resources.files("supertiny").joinpath("templates/chatml.jinja").read_text(encoding="utf-8")
END_OF_TURN = "<|im_end|>"


def tool_signatures(tools: list[dict]) -> str:
    """`set_power(device, on) set_timer(minutes, label?)`: the tools in a few tokens."""
    signatures = []
    for tool in tools:
        function = tool["function"]
        parameters = function.get("parameters", {})
        required = set(parameters.get("required", []))
        names = [name if name in required else f"{name}?" for name in parameters.get("properties", {})]
        signatures.append(f"{function['name']}({', '.join(names)})")
    return " ".join(signatures)


def system_prompt(instructions: str, tools: list[dict], context: str | None) -> str:
    parts = [instructions, "Tools: " + tool_signatures(tools)]
    if context:
        parts.append("Home:\n" + context)
    return "\n".join(parts)


def student_messages(task, example: dict) -> list[dict]:
    return [
        {"role": "system", "content": system_prompt(task.student_instructions(), task.action_tools, task.student_context(example["context"]))},
        {"role": "user", "content": example["input"]},
    ]


def answer_message(answer: Answer) -> dict:
    return {"role": "assistant", "content": render_answer(answer)}
