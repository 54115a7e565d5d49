"""A bare OpenAI-compatible chat endpoint that answers every request after a fixed delay with
a final reply (no tool call): the teacher's throughput test and benchmark, where only the
client's work should count.

A plain ASGI app, not FastAPI: on 2 shared cores the server's own per-request work must
stay small next to the client's. It records when each request arrived, how many were in
flight at most, and reports that at `GET /stats`. `usage.prompt_tokens` is the request's
token estimate as the client's tokens-per-minute limit counts it (`teacher.limits`), so a
test can add up, at the server, the tokens the client let through.

Run on its own (the benchmark, in a process of its own so the server does not share the
client's interpreter): `python tests/delay_server.py PORT DELAY_S`.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time


def _estimate(payload: dict) -> int:
    text = json.dumps([payload.get("messages"), payload.get("tools")], ensure_ascii=False)
    return len(text) // 4 + int(payload.get("max_tokens") or 0)


class DelayServer:
    def __init__(self, delay_s: float):
        self.delay_s = delay_s
        self.arrivals: list[tuple[float, int]] = []  # (monotonic time, estimated tokens) per request
        self.in_flight = self.max_in_flight = 0

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["method"] == "GET":
            stats = {"requests": len(self.arrivals), "max_in_flight": self.max_in_flight}
            return await self._reply(send, stats)
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        payload = json.loads(body)
        tokens = _estimate(payload)
        self.arrivals.append((time.monotonic(), tokens))
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.delay_s)
        finally:
            self.in_flight -= 1
        await self._reply(send, {
            "id": "chatcmpl-delay", "object": "chat.completion", "created": int(time.time()), "model": payload["model"],
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "Done."}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": tokens, "completion_tokens": 0, "total_tokens": tokens},
        })

    @staticmethod
    async def _reply(send, payload: dict) -> None:
        data = json.dumps(payload).encode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]})
        await send({"type": "http.response.body", "body": data})


if __name__ == "__main__":
    import uvicorn

    port, delay = int(sys.argv[1]), float(sys.argv[2])
    # uvicorn's default backlog (2048) and no concurrency limit: hundreds of connections at once
    uvicorn.run(DelayServer(delay), host="127.0.0.1", port=port, log_level="warning", access_log=False)
