"""What the student sees: one compact system message (a line of instructions and the home)
and the user's utterance; what it answers: the rendered calls or a reply.

The prompt is built in Python rather than by passing `tools` to the chat template, so SFT,
RFT, GRPO, evaluation and the serve endpoint all feed the model byte-identical prompts:
trl's GRPOTrainer cannot pass `tools` to the template (`chat_template_kwargs={"tools": ...}`
fails with "multiple values for keyword argument 'tools'", and a per-row tools column is
ignored). Outside trl's trainers (which render `student_messages` rows themselves), every
prompt goes through `prompt_text`, `prompt_ids` or `answer_ids` below.
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


def prompt_text(tokenizer, task, example: dict) -> str:
    """The student's prompt for `example`, up to the assistant's turn, as text (for batched,
    padded tokenization; it tokenizes to exactly `prompt_ids`)."""
    return tokenizer.apply_chat_template(student_messages(task, example), tokenize=False, add_generation_prompt=True)


def prompt_ids(tokenizer, task, example: dict) -> list[int]:
    """The student's prompt for `example`, up to the assistant's turn, as token ids."""
    return _template_ids(tokenizer, student_messages(task, example), add_generation_prompt=True)


def answer_ids(tokenizer, prompt: list[dict], completion: list[dict]) -> tuple[list[int], int]:
    """(token ids of `prompt` + `completion` up to and including the answer's end-of-turn
    token, prompt length): decoding stops at that token, so nothing after it is an answer
    token to score or train on."""
    start = len(_template_ids(tokenizer, prompt, add_generation_prompt=True))
    full = _template_ids(tokenizer, prompt + completion)
    return full[: full.index(tokenizer.convert_tokens_to_ids(END_OF_TURN), start) + 1], start


def _template_ids(tokenizer, messages: list[dict], add_generation_prompt: bool = False) -> list[int]:
    return tokenizer.apply_chat_template(messages, add_generation_prompt=add_generation_prompt, tokenize=True, return_dict=False)
