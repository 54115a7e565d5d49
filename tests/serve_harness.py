"""What the server hardening and soak tests share: the tiny preset behind `supertiny serve` in
a subprocess, the good requests a client sends, the hostile ones an attacker sent (issue 16),
and what a well-formed answer looks like."""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path

from servers import free_port, subprocess_server

ROOT = Path(__file__).resolve().parents[1]
KEY_ENV, KEY = "SUPERTINY_TEST_SERVE_KEY", "test-token-123"
HEADERS = {"Authorization": f"Bearer {KEY}"}
MAX_INPUT_CHARS = 500


@contextlib.contextmanager
def tiny_server(folder: Path, log: Path, *options: str, open_files: int | None = None):
    """Yield (base URL, process) of `supertiny serve` on the tiny model folder, bearer auth on;
    `open_files` lowers its open-file limit, as on a host with the common default of 1024."""
    port = free_port()
    command = [
        sys.executable, "-m", "supertiny.cli", "serve", str(folder), "--port", str(port), "--params", str(ROOT / "params.yaml"),
        "--max-tokens-cap", "16", "--max-input-chars", str(MAX_INPUT_CHARS), "--api-key-env", KEY_ENV, "--threads", "1", *options,
    ]
    if open_files:
        command = ["bash", "-c", f'ulimit -n {open_files} && exec "$@"', "serve", *command]
    with subprocess_server(command, port, "/health", log, env={KEY_ENV: KEY}) as process:
        yield f"http://127.0.0.1:{port}", process


def chat_body(example: dict, **fields) -> dict:
    body = {"model": "tiny", "messages": [{"role": "user", "content": example["input"]}], "context": example["context"], "max_tokens": 4}
    return {**body, **fields}


def encoded(body) -> bytes:
    return body if isinstance(body, bytes) else json.dumps(body).encode()


def emoji_home(example: dict, count: int = 2000) -> dict:
    """The example's home with a room named by `count` emoji: ~3 prompt tokens each."""
    context = json.loads(json.dumps(example["context"]))
    context["rooms"][0]["name"] = "\U0001f600" * count
    return context


def sprawling_home(rooms: int = 8000, devices: int = 8000) -> dict:
    """~0.9 MB of home whose compact rendering takes rooms x devices steps."""
    return {
        "rooms": [{"name": f"r{i}", "floor": "x"} for i in range(rooms)],
        "devices": [{"id": f"d{i}", "room": "nowhere", "state": {"power": "on"}} for i in range(devices)],
    }


def hostile_requests(example: dict) -> dict[str, tuple[bytes, dict, int]]:
    """name -> (body, headers, the status it must get): what issue 16's attacker sent."""
    good = chat_body(example)
    surrogate_home = json.loads(json.dumps(example["context"]))
    surrogate_home["rooms"][0]["name"] = "kitchen\ud800"
    deep = b'{"model": "tiny", "messages": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"
    cases = {
        "lone surrogate in the utterance": (chat_body(example, messages=[{"role": "user", "content": "lights on \ud800"}]), 400),
        "lone surrogate in the context": (chat_body(example, context=surrogate_home), 400),
        "2000 emoji in the context": (chat_body(example, context=emoji_home(example)), 413),
        "emoji utterance over the token budget": (chat_body(example, messages=[{"role": "user", "content": "\U0001f600" * 450}]), 413),
        "1 MB sprawling context": (chat_body(example, context=sprawling_home()), 413),
        "deeply nested JSON": (deep, 400),
        "text part that is not a string": (chat_body(example, messages=[{"role": "user", "content": [{"type": "text", "text": 5}]}]), 400),
        "stream_options that is not an object": (chat_body(example, stream=True, stream_options="yes"), 400),
        "messages that are not objects": (chat_body(example, messages=["hi"]), 400),
        "max_tokens over the cap": (chat_body(example, max_tokens=10**30), 400),
        "unknown model": (chat_body(example, model="gpt-9"), 404),
        "invalid JSON": (b'{"model": "tiny", "messages": [', 400),
        "body over 1 MiB": (b"{" + b" " * (1 << 20) + b"}", 413),
    }
    requests = {name: (encoded(body), HEADERS, status) for name, (body, status) in cases.items()}
    requests["no API key"] = (encoded(good), {}, 401)
    return requests


def well_formed(answer: dict) -> bool:
    """An OpenAI chat completion: one assistant choice holding a reply or calls with JSON-object
    arguments, a known finish reason, and token usage."""
    choice = answer["choices"][0]
    message, finish = choice["message"], choice["finish_reason"]
    if finish not in ("stop", "length", "tool_calls") or message["role"] != "assistant":
        return False
    if answer["usage"]["prompt_tokens"] < 1:
        return False
    if finish == "tool_calls":
        calls = message["tool_calls"]
        return bool(calls) and all(isinstance(json.loads(c["function"]["arguments"]), dict) for c in calls)
    return isinstance(message["content"], str) and "tool_calls" not in message


def openai_error(response) -> dict:
    """The OpenAI-style error a refusal carries; fails (KeyError, JSONDecodeError) for any other body."""
    error = response.json()["error"]
    assert isinstance(error["message"], str) and error["type"] in ("invalid_request_error", "server_error"), error
    assert "Traceback" not in response.text
    return error
