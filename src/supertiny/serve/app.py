"""The FastAPI app: `/v1/chat/completions`, `/v1/models`, `/health`, optional bearer auth.

Every refusal is an OpenAI-style error body with a 4xx status, so the official client
raises a typed error carrying the message. One uvicorn worker process holds one model;
requests from all connections meet in the `Batcher`.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import os
import time
from collections import Counter
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

from supertiny.errors import SupertinyError
from supertiny.serve.batcher import Batcher, QueueFull
from supertiny.serve.protocol import Limits, RequestError, completion, parse_request, stream_chunks


def create_app(
    predictor,
    task,
    model_name: str,
    limits: Limits | None = None,
    default_context: dict | None = None,
    api_key: str | None = None,
    max_batch: int = 8,
    max_queue: int = 256,
    max_body_bytes: int = 1 << 20,
) -> FastAPI:
    """The app around a loaded predictor; `api_key` (if any) must come as `Authorization: Bearer`."""
    limits = limits or Limits()
    app = FastAPI(title="supertiny", docs_url=None, redoc_url=None, openapi_url=None)
    batcher = Batcher(predictor, max_batch=max_batch, max_queue=max_queue)
    stats: Counter = Counter()
    app.state.stats = stats
    created = int(time.time())

    @app.exception_handler(RequestError)
    async def refuse(request: Request, error: RequestError) -> JSONResponse:
        stats["refused"] += 1
        headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
        return JSONResponse(error.body(), status_code=error.status, headers=headers)

    def authorize(request: Request) -> None:
        if api_key is None:
            return
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), api_key.encode()):
            raise RequestError(401, "missing or wrong API key (send Authorization: Bearer <key>)", code="invalid_api_key")

    @app.get("/health")
    async def health() -> dict:
        return {"status": "ok", "model": model_name, "queue": batcher.depth(), **stats}

    @app.get("/v1/models")
    async def models(request: Request) -> dict:
        authorize(request)
        return {"object": "list", "data": [{"id": model_name, "object": "model", "created": created, "owned_by": "supertiny"}]}

    @app.post("/v1/chat/completions")
    async def chat(request: Request):
        stats["chat_requests"] += 1
        authorize(request)
        body = await read_body(request, max_body_bytes)
        parsed = parse_request(body, model_name, task, limits, default_context)
        try:
            future = batcher.submit(parsed.example, parsed.max_tokens)
        except QueueFull:
            raise RequestError(503, "the server is at capacity; retry shortly", code="overloaded") from None
        try:
            prediction = await asyncio.wrap_future(future)
        except Exception as error:
            raise RequestError(500, f"the model failed on this request ({type(error).__name__}: {error})") from None
        stats["completed"] += 1
        response = completion(model_name, prediction, parsed.max_tokens)
        if not parsed.stream:
            return response
        events = "".join(f"data: {json.dumps(chunk)}\n\n" for chunk in stream_chunks(response, parsed.include_usage))
        return StreamingResponse(iter([events + "data: [DONE]\n\n"]), media_type="text/event-stream")

    return app


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as it is known to be over `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise RequestError(413, f"request body of {declared} bytes is over this server's limit of {limit}")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise RequestError(413, f"request body is over this server's limit of {limit} bytes")
    return bytes(body)


def serve(
    folder: str | Path,
    task,
    host: str,
    port: int,
    model_name: str | None,
    limits: Limits,
    context_file: str | None,
    api_key_env: str,
    max_batch: int,
    max_queue: int,
) -> None:
    """Load the model folder and serve it until interrupted."""
    import uvicorn

    from supertiny.jsonl import read_json
    from supertiny.runtime.loading import load_predictor

    default_context = read_json(context_file) if context_file else None
    if default_context is not None:
        try:
            task.student_context(default_context)
        except Exception as error:
            raise SupertinyError(f"{context_file}: not a valid {task.name} context ({type(error).__name__}: {error})") from None
    predictor = load_predictor(folder, task, limits.max_tokens_cap)  # the batcher sets each batch's own limit
    app = create_app(
        predictor, task, model_name or Path(folder).resolve().name, limits, default_context,
        api_key=os.environ.get(api_key_env) or None, max_batch=max_batch, max_queue=max_queue,
    )
    uvicorn.run(app, host=host, port=port, log_level="info")
