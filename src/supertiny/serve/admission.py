"""What a request may cost, checked before it is queued: text the tokenizer can encode, a
context small enough to render, a prompt within the token budget.

A request that fails here gets a 4xx and never reaches the model, so it cannot fail a batch
it would have shared. The checks run in the app's thread pool, not on the event loop:
rendering a context is O(rooms x devices) and tokenizing is not free. The byte bound comes
first, so no context is rendered that could not fit in the prompt anyway.
"""

from __future__ import annotations

import copy
import json
import threading
from pathlib import Path

from supertiny.errors import SupertinyError
from supertiny.prompting import prompt_ids
from supertiny.serve.protocol import ChatRequest, Limits, RequestError


class PromptCounter:
    """Exact prompt tokens, as the model will see them. A private copy of the model's tokenizer
    behind a lock: a fast tokenizer must not be called from two threads at once ("Already
    borrowed"), and the model's own is busy in the batcher's worker."""

    def __init__(self, tokenizer, task):
        self._tokenizer, self._task, self._lock = copy.deepcopy(tokenizer), task, threading.Lock()
        # the chat format's markers: in a request's text they would become real turn boundaries
        self.control_tokens = sorted({t for t in tokenizer.all_special_tokens if len(t) > 1}, key=len, reverse=True)

    def __call__(self, example: dict) -> int:
        with self._lock:
            return len(prompt_ids(self._tokenizer, self._task, example))


def admit(request: ChatRequest, task, limits: Limits, count_prompt: PromptCounter | None) -> None:
    """Refuse (RequestError) a request the model must not be given."""
    encode(request.example["input"], "the user message", "messages")
    context = request.example["context"]
    size = len(encode(context_json(context), "the context", "context"))
    if size > limits.max_context_bytes:
        raise RequestError(
            413, f"the context is {size} bytes of JSON; this server takes at most {limits.max_context_bytes}",
            "context", "context_length_exceeded",
        )
    try:
        task.student_context(context)
    except Exception as error:  # whatever the task's renderer trips on, the client sent it
        raise RequestError(400, f"context is not a valid {task.name} context ({type(error).__name__}: {str(error)[:200]})", "context") from None
    if count_prompt is not None:
        refuse_control_tokens(request.example, count_prompt.control_tokens)
        check_prompt(count_prompt(request.example), limits)


def refuse_control_tokens(example: dict, control_tokens: list[str]) -> None:
    """A message or context holding `<|im_end|>` and the like would be tokenized as the chat
    format's own markers (a forged system turn): no honest request needs them."""
    for text, what, param in ((example["input"], "the user message", "messages"), (context_json(example["context"]), "the context", "context")):
        found = next((token for token in control_tokens if token in text), None)
        if found:
            raise RequestError(400, f"{what} contains the model's control token {found!r}", param)


def encode(text: str, what: str, param: str) -> bytes:
    """UTF-8 bytes of `text`; a lone surrogate (JSON allows "\\ud800") is refused, since the
    tokenizer cannot take it."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise RequestError(400, f"{what} is not valid Unicode ({error.reason} at character {error.start})", param) from None


def context_json(context: dict) -> str:
    try:
        return json.dumps(context, ensure_ascii=False)
    except RecursionError:
        raise RequestError(400, "the context nests JSON too deeply", "context") from None


def check_prompt(tokens: int, limits: Limits) -> None:
    if tokens > limits.max_prompt_tokens:
        raise RequestError(
            413, f"the prompt (instructions, context and user message) is {tokens} tokens; "
            f"this server takes at most {limits.max_prompt_tokens}", "messages", "context_length_exceeded",
        )


def check_budget(folder: str | Path, limits: Limits) -> None:
    """Refuse at startup a prompt budget plus answer that does not fit the model's positions."""
    positions = model_positions(Path(folder))
    if positions is not None and limits.max_prompt_tokens + limits.max_tokens_cap > positions:
        raise SupertinyError(
            f"serve: --max-prompt-tokens {limits.max_prompt_tokens} + --max-tokens-cap {limits.max_tokens_cap} "
            f"is over the model's {positions} positions"
        )


def model_positions(folder: Path) -> int | None:
    """The longest sequence the model in `folder` takes, from its transformers or genai config."""
    for name, keys in (("config.json", ("max_position_embeddings",)), ("genai_config.json", ("model", "context_length"))):
        try:
            value = json.loads((folder / name).read_text())
            for key in keys:
                value = value[key]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if isinstance(value, int):
            return value
    return None
