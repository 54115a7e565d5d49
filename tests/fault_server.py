"""A real OpenAI-compatible chat server that misbehaves on schedule, for the teacher's fault tests.

It answers like the reference teacher (the rule agent walking the tool loop), so traces are
real multi-turn tool loops, or like any other backend it is given (e.g. `replay`, which
answers a custom task's requests with their gold answers); the Nth request it receives can
instead get a fault:

- `rate_limit`: 429 with a `Retry-After` header
- `server_error`: 500
- `delay`: the right answer, but only after `delay_s` (longer than the client's timeout)
- `dribble`: the right answer, headers at once, then its body a few bytes at a time over
  `delay_s` (each piece well within a socket read timeout, the whole longer than the client's
  timeout); its log entry says whether the whole body went out (`dribbled`)
- `bad_body`: 200 whose body is not JSON
- `bad_shape`: 200 with a JSON completion the tool loop cannot use (`tool_calls` an object,
  `usage` counts as text)
- `malformed`: 200 whose first tool call has broken JSON arguments (given to the first reply,
  from that request on, that looks a device up: the rule agent takes a failed lookup in stride)

Requests without tools are the LLM judge's: they get `{"score": ...}` from `judge_score`.
Every request is logged (arrival time, body hash, fault) so tests can check what was paid.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
import time
import uuid

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, StreamingResponse

from supertiny.teacher.reference import ReferenceBackend


class FaultServer:
    def __init__(self, task, faults: dict[int, str] | None = None, retry_after: float = 0.2, delay_s: float = 3.0, judge_score=None,
                 backend=None):
        self.backend = backend or ReferenceBackend(task)
        self.faults = dict(faults or {})
        self.retry_after, self.delay_s = retry_after, delay_s
        self.judge_score = judge_score or (lambda text: 5)
        self.log: list[dict] = []
        self._malformed_due = 0
        self._lock = threading.Lock()
        self.app = self._build()

    def requests(self, fault: str | None = "any") -> int:
        """Requests received, all of them or those that got one fault (None: answered normally)."""
        return sum(1 for entry in self.log if fault == "any" or entry["fault"] == fault)

    def _build(self) -> FastAPI:
        app = FastAPI()

        @app.post("/v1/chat/completions")
        async def chat(request: Request):
            body = await request.body()
            with self._lock:
                number = len(self.log)
                fault = self.faults.get(number)
                if fault == "malformed":
                    self._malformed_due, fault = self._malformed_due + 1, None
                entry = {"time": time.monotonic(), "hash": hashlib.sha256(body).hexdigest(), "fault": fault}
                self.log.append(entry)
            if fault == "rate_limit":
                return JSONResponse({"error": {"message": "slow down", "type": "rate_limit"}}, 429, {"Retry-After": str(self.retry_after)})
            if fault == "server_error":
                return JSONResponse({"error": {"message": "boom", "type": "server_error"}}, 500)
            if fault == "bad_body":
                return PlainTextResponse("<html>gateway hiccup</html>", 200)
            if fault == "delay":
                await asyncio.sleep(self.delay_s)
            completion = self.completion(json.loads(body), fault, entry)
            if fault == "dribble":
                return StreamingResponse(self._dribble(json.dumps(completion).encode(), entry), media_type="application/json")
            return completion

        return app

    def completion(self, payload: dict, fault: str | None = None, entry: dict | None = None) -> dict:
        """The chat completion answering `payload` (a request body), with `fault`'s damage if any."""
        if payload.get("tools"):
            message, usage = self.backend.complete(payload["messages"], payload["tools"])
        else:
            message = {"role": "assistant", "content": json.dumps({"score": self.judge_score(payload["messages"][-1]["content"]), "reason": "ok"})}
            usage = {"prompt_tokens": 50, "completion_tokens": 10}
        first = (message.get("tool_calls") or [{}])[0].get("function", {})
        with self._lock:
            if self._malformed_due and first.get("name") == "find_devices":
                self._malformed_due -= 1
                if entry is not None:
                    entry["fault"] = "malformed"
                first["arguments"] = first["arguments"][:-1]  # drop the closing brace
        if fault == "bad_shape":
            message = {**message, "tool_calls": {"not": "a list"}}
            usage = {"prompt_tokens": "many", "completion_tokens": 1}
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": payload["model"],
            "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if message.get("tool_calls") else "stop"}],
            "usage": {**usage, "total_tokens": 0 if fault == "bad_shape" else usage["prompt_tokens"] + usage["completion_tokens"]},
        }

    async def _dribble(self, body: bytes, entry: dict):
        entry["dribbled"] = False
        pieces = [body[i:i + 16] for i in range(0, len(body), 16)]
        for piece in pieces:
            yield piece
            await asyncio.sleep(self.delay_s / len(pieces))
        entry["dribbled"] = True  # never reached when the client hung up first (starlette cancels the stream)
