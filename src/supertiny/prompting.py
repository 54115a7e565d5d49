"""What the student sees: one compact system message (a line of instructions and the home)
and the user's utterance; what it answers: the rendered calls or a reply.

The prompt is built in Python rather than by passing `tools` to the chat template, so SFT,
RFT, GRPO, evaluation and the serve endpoint all feed the model byte-identical prompts
(trl's GRPO cannot pass `tools` to the template, see STACK.md).
"""

from __future__ import annotations

from importlib import resources

from supertiny.tool_format import Answer, render_answer

CHAT_TEMPLATE = resources.files("supertiny").joinpath("templates/chatml.jinja").read_text(encoding="utf-8")
END_OF_TURN = "<|im_end|>"


def system_prompt(instructions: str, context: str | None) -> str:
    """The instructions and the compact context. No tool schemas: the fine-tuned student
    learns its tools from its answers, and every prompt token is paid for at every prefill
    (the prompt is ~85% of each sequence's tokens in training, sampling and serving)."""
    return f"{instructions}\nHome:\n{context}" if context else instructions


def student_messages(task, example: dict) -> list[dict]:
    return [
        {"role": "system", "content": system_prompt(task.student_instructions(), task.student_context(example["context"]))},
        {"role": "user", "content": example["input"]},
    ]


def answer_message(answer: Answer) -> dict:
    return {"role": "assistant", "content": render_answer(answer)}
