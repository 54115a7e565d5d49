"""What the student sees: one compact system message (a line of instructions, the context,
and, where a task's requests bring their own tool sets, those tools) and the user's
utterance; what it answers: the rendered calls or a reply.

The prompt is built in Python rather than by passing `tools` to the chat template, so SFT,
RFT, GRPO, evaluation and the serve endpoint all feed the model byte-identical prompts:
trl's GRPOTrainer cannot pass `tools` to the template (`chat_template_kwargs={"tools": ...}`
fails with "multiple values for keyword argument 'tools'", and a per-row tools column is
ignored). Outside trl's trainers (which render `student_messages` rows themselves), every
prompt goes through `prompt_text`, `prompt_ids` or `answer_ids` below.
"""

from __future__ import annotations

import json
from importlib import resources

from supertiny.tool_format import Answer, render_answer

CHAT_TEMPLATE = resources.files("supertiny").joinpath("templates/chatml.jinja").read_text(encoding="utf-8")
END_OF_TURN = "<|im_end|>"


def system_prompt(instructions: str, context: str | None, label: str, tools: list[dict] | None = None) -> str:
    """The instructions, the example's tools where it carries them, and the compact context
    under `label`. Tools only where requests vary them: a student with one tool set learns
    it from its answers, and every prompt token is paid for at every prefill (the prompt is
    ~85% of each sequence's tokens in training, sampling and serving)."""
    parts = [instructions]
    if tools:
        parts.append("Tools:\n" + render_tools(tools))
    if context:
        parts.append(f"{label}:\n{context}")
    return "\n".join(parts)


def student_messages(task, example: dict) -> list[dict]:
    system = system_prompt(task.student_instructions(), task.student_context(example["context"]), task.context_label, example.get("tools"))
    return [{"role": "system", "content": system}, {"role": "user", "content": example["input"]}]


def render_tools(tools: list[dict]) -> str:
    """One line a function, as the answer calls it: `name(key: type, optional?: type) description`.
    A fraction of the JSON schemas' tokens: argument descriptions and ranges are left out
    (the student learns the values from its training answers)."""
    lines = []
    for tool in tools:
        function = tool["function"]
        schema = function.get("parameters") or {}
        required = set(schema.get("required", []))
        arguments = ", ".join(
            f"{key}{'' if key in required else '?'}: {_type_text(value)}" for key, value in (schema.get("properties") or {}).items()
        )
        description = " ".join((function.get("description") or "").split())
        lines.append(f"{function['name']}({arguments}) {description}".rstrip())
    return "\n".join(lines)


def _type_text(schema) -> str:
    """A JSON schema's type, compactly: `string`, `"a"|"b"`, `[integer]`, `{key: type}`, `any`."""
    if not isinstance(schema, dict):
        return "any"
    if "enum" in schema:
        return "|".join(json.dumps(value, ensure_ascii=False) for value in schema["enum"])
    if "const" in schema:
        return json.dumps(schema["const"], ensure_ascii=False)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return "|".join(_type_text(option) for option in schema[key])
    kind = schema.get("type")
    if isinstance(kind, list):
        return "|".join(_type_text({**schema, "type": k}) for k in kind)
    if kind == "array":
        return f"[{_type_text(schema.get('items'))}]"
    if kind == "object" and schema.get("properties"):
        required = set(schema.get("required", []))
        return "{" + ", ".join(f"{k}{'' if k in required else '?'}: {_type_text(v)}" for k, v in schema["properties"].items()) + "}"
    return kind or "any"


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
