"""OpenAI chat completions in and out: a request becomes a task example, a prediction becomes
a completion with `tool_calls` (arguments as JSON strings) or a plain reply.

The convention for what the tiny model needs: the utterance is the last user message; the
context (for smart_home, the home: rooms, devices, state, as in `data/task/*.jsonl`) is the
request's `context` field, else a system message whose whole content is that JSON object,
else the server's default context (`--context FILE`). For a custom task the context is the
text of the system messages, as `prepare` read the feature's requests, so its client sends
what it always sent; where the feature's requests vary their tool sets, the request's
`tools` go into the prompt as they did in training. Otherwise other messages, `tools` and
sampling params are accepted and not used: the model is prompted exactly as it was trained
(it learned the task's own tools) and decodes greedily.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass

from supertiny.runtime.prediction import Prediction


class RequestError(Exception):
    """A bad request: its HTTP status and an OpenAI-style error body."""

    def __init__(self, status: int, message: str, param: str | None = None, code: str | None = None):
        super().__init__(message)
        self.status, self.message, self.param, self.code = status, message, param, code

    def body(self) -> dict:
        kind = "invalid_request_error" if self.status < 500 else "server_error"
        return {"error": {"message": self.message, "type": kind, "param": self.param, "code": self.code}}


@dataclass
class Limits:
    max_tokens_cap: int = 256
    max_input_chars: int = 2000
    default_max_tokens: int | None = None  # for requests that set none; None: the cap
    max_context_bytes: int = 64 << 10  # a context's JSON, checked before it is rendered
    max_prompt_tokens: int = 1024  # the rendered prompt, checked before it is queued


@dataclass
class ChatRequest:
    example: dict  # {"input": utterance, "context": ...}, what the predictor answers
    max_tokens: int
    stream: bool
    include_usage: bool


def parse_request(body: bytes, model_name: str, limits: Limits, default_context: dict | None, task=None) -> ChatRequest:
    """The request's fields, each checked for type and range; what it costs is `admission`'s."""
    payload = load_json(body)
    if not isinstance(payload, dict):
        raise RequestError(400, "request body must be a JSON object")
    model = payload.get("model")
    if not isinstance(model, str):
        raise RequestError(400, f"model must be a string naming the served model ({model_name!r})", "model")
    if model != model_name:
        raise RequestError(404, f"model {model!r} is not served here (served: {model_name!r})", "model", "model_not_found")
    messages = payload.get("messages")
    if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
        raise RequestError(400, "messages must be a non-empty list of message objects", "messages")
    users = [m for m in messages if m.get("role") == "user"]
    if not users:
        raise RequestError(400, "messages hold no user message (the utterance)", "messages")
    utterance = message_text(users[-1].get("content"))
    if not utterance.strip():
        raise RequestError(400, "the last user message has no text", "messages")
    if len(utterance) > limits.max_input_chars:
        raise RequestError(
            413, f"the user message has {len(utterance)} characters; this server takes at most {limits.max_input_chars}",
            "messages", "context_length_exceeded",
        )
    max_tokens = requested_max_tokens(payload, limits)
    if payload.get("n", 1) != 1:
        raise RequestError(400, "n must be 1 (the model decodes greedily: every choice would be the same)", "n")
    if not isinstance(payload.get("tools", []), list):
        raise RequestError(400, "tools must be a list", "tools")
    stream = payload.get("stream", False)
    if not isinstance(stream, bool):
        raise RequestError(400, "stream must be true or false", "stream")
    example = {"input": utterance, "context": find_context(payload, messages, default_context, task)}
    if getattr(task, "tools_vary", False):
        example["tools"] = request_tools(payload, task)
    return ChatRequest(example, max_tokens, stream, stream and wants_usage(payload))


def load_json(body: bytes):
    try:
        return json.loads(body)
    except ValueError as error:  # also undecodable bytes, and integers past Python's 4300 digits
        raise RequestError(400, f"request body is not valid JSON ({str(getattr(error, 'msg', error))[:200]})") from None
    except RecursionError:
        raise RequestError(400, "request body nests JSON too deeply") from None


def requested_max_tokens(payload: dict, limits: Limits) -> int:
    max_tokens = payload.get("max_completion_tokens", payload.get("max_tokens"))
    if max_tokens is None:
        return min(limits.default_max_tokens or limits.max_tokens_cap, limits.max_tokens_cap)
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
        raise RequestError(400, f"max_tokens must be a positive integer; got {str(max_tokens)[:40]}", "max_tokens")
    if max_tokens > limits.max_tokens_cap:
        raise RequestError(400, f"max_tokens {str(max_tokens)[:40]} is over this server's cap of {limits.max_tokens_cap}", "max_tokens")
    return max_tokens


def wants_usage(payload: dict) -> bool:
    options = payload.get("stream_options") or {}
    if not isinstance(options, dict):
        raise RequestError(400, "stream_options must be an object", "stream_options")
    return bool(options.get("include_usage"))


def message_text(content) -> str:
    """A message's text: a string, or the text parts of a content list (other parts are ignored)."""
    if content is None or isinstance(content, str):
        return content or ""
    if not isinstance(content, list) or not all(isinstance(part, dict) for part in content):
        raise RequestError(400, "a message's content must be a string or a list of content parts", "messages")
    texts = [part.get("text") for part in content if part.get("type") == "text"]
    if not all(isinstance(text, str) for text in texts):
        raise RequestError(400, "a text content part's text must be a string", "messages")
    return "".join(texts)


def find_context(payload: dict, messages: list[dict], default_context: dict | None, task=None):
    """smart_home: a JSON object (see the module's docstring). A custom task: the `context`
    field (any JSON), else the system messages' text, else the default, else none."""
    text_context = getattr(task, "context_from_system_text", False)
    if "context" in payload:
        if not isinstance(payload["context"], dict) and not text_context:
            raise RequestError(400, "context must be a JSON object", "context")
        return payload["context"]
    if text_context:
        for message in messages:
            if message.get("role") in ("system", "developer"):
                message_text(message.get("content"))  # a 400 for content that is not text
        context = task.request_context(messages)
        return context if context is not None else default_context
    for message in messages:
        if message.get("role") == "system":
            try:
                parsed = json.loads(message_text(message.get("content")))
            except (json.JSONDecodeError, RecursionError):
                continue
            if isinstance(parsed, dict):
                return parsed
    if default_context is not None:
        return default_context
    raise RequestError(
        400, "the request carries no context: send it as the `context` field or as a system message holding only its JSON",
        "context",
    )


def request_tools(payload: dict, task) -> list[dict]:
    """The request's tools, for a model whose prompt lists each request's tools."""
    tools = payload.get("tools")
    if tools is None:
        raise RequestError(400, "this model reads each request's tools: send them as `tools`", "tools")
    if problem := task.request_tools_problem(tools):
        raise RequestError(400, problem, "tools")
    return tools


def assistant_message(prediction: Prediction, truncated: bool) -> tuple[dict, str]:
    """(OpenAI assistant message, finish_reason) for one prediction. An answer cut by max_tokens
    goes back as its text with finish_reason "length": calls parsed from it may be missing one."""
    answer = prediction.answer
    if truncated:
        return {"role": "assistant", "content": prediction.text}, "length"
    if isinstance(answer, list):
        calls = [
            {
                "id": f"call_{uuid.uuid4().hex[:24]}",
                "type": "function",
                "function": {"name": call["name"], "arguments": json.dumps(call["arguments"], ensure_ascii=False)},
            }
            for call in answer
        ]
        return {"role": "assistant", "content": None, "tool_calls": calls}, "tool_calls"
    content = answer if isinstance(answer, str) else prediction.text  # unparsable output goes back as it is
    return {"role": "assistant", "content": content}, "stop"


def usage(prediction: Prediction) -> dict:
    return {
        "prompt_tokens": prediction.prompt_tokens,
        "completion_tokens": prediction.new_tokens,
        "total_tokens": prediction.prompt_tokens + prediction.new_tokens,
    }


def completion(model_name: str, prediction: Prediction, truncated: bool) -> dict:
    """`truncated`: generation stopped at the request's max_tokens, not at the end of the turn."""
    message, finish = assistant_message(prediction, truncated)
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model_name,
        "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
        "usage": usage(prediction),
    }


def stream_chunks(response: dict, include_usage: bool) -> list[dict]:
    """The completion as `chat.completion.chunk`s: the whole answer in one delta, then the finish."""
    choice = response["choices"][0]
    message = choice["message"]
    delta = {"role": "assistant", "content": message["content"]}
    if "tool_calls" in message:
        delta["tool_calls"] = [{"index": i, **call} for i, call in enumerate(message["tool_calls"])]
    base = {key: response[key] for key in ("id", "created", "model")} | {"object": "chat.completion.chunk"}
    chunks = [
        {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]},
        {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": choice["finish_reason"]}]},
    ]
    if include_usage:
        chunks.append({**base, "choices": [], "usage": response["usage"]})
    return chunks
