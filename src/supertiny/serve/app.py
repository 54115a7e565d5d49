"""The FastAPI app: `/v1/chat/completions`, `/v1/models`, `/health`, optional bearer auth.

Every refusal is an OpenAI-style error body with a 4xx status, so the official client
raises a typed error carrying the message. One uvicorn worker process holds one model;
requests from all connections meet in the `Batcher`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hmac
import ipaddress
import json
import logging
import os
import sys
import time
from collections import Counter
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

from supertiny.errors import SupertinyError
from supertiny.serve.admission import PromptCounter, admit, check_budget
from supertiny.serve.batcher import Batcher, QueueFull
from supertiny.serve.disconnects import ClientGone, answer_unless_gone
from supertiny.serve.protocol import ChatRequest, Limits, RequestError, completion, parse_request, stream_chunks
from supertiny.teacher.loop import schemas_by_name, validation_error

log = logging.getLogger("supertiny.serve")


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
    read_timeout: float = 10.0,
    fallback=None,
) -> FastAPI:
    """The app around a loaded predictor; `api_key` (if any) must come as `Authorization: Bearer`.
    `read_timeout`: seconds a client has to send a request's body. `fallback`: a `serve.fallback.Fallback`
    that answers what the model is unsure of."""
    limits = limits or Limits()
    app = FastAPI(title="supertiny", docs_url=None, redoc_url=None, openapi_url=None)
    batcher = Batcher(predictor, max_batch=max_batch, max_queue=max_queue)
    tokenizer = getattr(predictor, "tokenizer", None)
    count_prompt = PromptCounter(tokenizer, task) if tokenizer is not None else None
    generates = hasattr(predictor, "max_new_tokens")  # honours max_tokens, so may be cut by it
    getattr(task, "tools_vary", None)  # a custom task reads its files now, at start-up, not in a request
    stats: Counter = Counter()
    app.state.stats = stats
    task_schemas: dict = {}  # the task's own tools, read on first use

    def schemas_for(example: dict) -> dict[str, dict]:
        """The calls a request allows: its own tools where the model reads them, else the task's."""
        if example.get("tools"):
            return schemas_by_name(example["tools"])
        if not task_schemas:
            task_schemas.update(schemas_by_name(task.action_tools))
        return task_schemas
    created = int(time.time())

    @app.exception_handler(RequestError)
    async def refuse(request: Request, error: RequestError) -> JSONResponse:
        stats["refused"] += 1
        headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
        return JSONResponse(error.body(), status_code=error.status, headers=headers)

    @app.exception_handler(HTTPException)
    async def unrouted(request: Request, error: HTTPException) -> JSONResponse:  # 404, 405: in the OpenAI shape too
        return JSONResponse(RequestError(error.status_code, str(error.detail)).body(), status_code=error.status_code, headers=error.headers)

    @app.exception_handler(Exception)
    async def crashed(request: Request, error: Exception) -> JSONResponse:  # logged by uvicorn; never echoed
        return JSONResponse(RequestError(500, "internal server error").body(), status_code=500)

    def authorized(request: Request) -> bool:
        if api_key is None:
            return True
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), api_key.encode())

    def authorize(request: Request) -> None:
        if not authorized(request):
            raise RequestError(401, "missing or wrong API key (send Authorization: Bearer <key>)", code="invalid_api_key")

    @app.get("/health")
    async def health(request: Request) -> dict:
        """Liveness for anyone (a load balancer has no key); the counters for key holders only."""
        if not authorized(request):
            return {"status": "ok"}
        return {"status": "ok", "model": model_name, "queue": batcher.depth(), **stats}

    @app.get("/v1/models")
    async def models(request: Request) -> dict:
        authorize(request)
        return {"object": "list", "data": [{"id": model_name, "object": "model", "created": created, "owned_by": "supertiny"}]}

    def admitted(body: bytes) -> ChatRequest:
        """The parsed, admitted request (in a worker thread). Parsing is a function of the body
        alone, so whatever it raises, the body caused: a 400, never a 500."""
        try:
            parsed = parse_request(body, model_name, limits, default_context, task)
            admit(parsed, task, limits, count_prompt)
        except RequestError:
            raise
        except Exception as error:
            log.warning("malformed request (%s: %s)", type(error).__name__, str(error)[:200])
            raise RequestError(400, f"the request could not be parsed ({type(error).__name__})") from None
        return parsed

    def abandoned() -> Response:
        """The answer to a client that hung up: nobody reads it; the access log shows 499."""
        stats["refused"] += 1
        stats["abandoned"] += 1
        return Response(status_code=499)

    @app.post("/v1/chat/completions")
    async def chat(request: Request):
        stats["chat_requests"] += 1
        authorize(request)
        try:
            body = await read_body(request, max_body_bytes, read_timeout)
        except ClientDisconnect:
            return abandoned()
        parsed = await run_in_threadpool(admitted, body)
        try:
            future = batcher.submit(parsed.example, parsed.max_tokens)
        except QueueFull:
            raise RequestError(503, "the server is at capacity; retry shortly", code="overloaded") from None
        try:
            prediction = await answer_unless_gone(asyncio.wrap_future(future), request)
        except ClientGone:
            return abandoned()
        except Exception as error:
            log.error("the model failed on a request", exc_info=error)
            raise RequestError(500, "the model failed on this request", code="model_error") from None
        truncated = generates and prediction.new_tokens >= parsed.max_tokens
        extension = {"answered_by": "tiny", "confidence": prediction.confidence}
        if problem := invalid_calls(prediction.answer, schemas_for(parsed.example), task, parsed.example):
            stats["invalid_answers"] += 1
            extension["invalid_calls"] = problem  # never sent as tool_calls: the text goes back, or the teacher answers
            prediction = dataclasses.replace(prediction, answer=None)
        if fallback is not None and (truncated or fallback.needed(prediction)):
            stats["handed_off"] += 1
            prediction, error = await run_in_threadpool(fallback.answer, parsed.example, prediction)
            if error:
                stats["handoff_failures"] += 1
                extension["fallback_error"] = error
            else:
                extension["answered_by"], truncated = "teacher", False
        stats["completed"] += 1
        response = completion(model_name, prediction, truncated) | {"supertiny": extension}
        headers = {"X-Supertiny-Answered-By": extension["answered_by"]}
        if not parsed.stream:
            return JSONResponse(response, headers=headers)
        events = "".join(f"data: {json.dumps(chunk)}\n\n" for chunk in stream_chunks(response, parsed.include_usage))
        return StreamingResponse(iter([events + "data: [DONE]\n\n"]), media_type="text/event-stream", headers=headers)

    return app


def invalid_calls(answer, schemas: dict[str, dict], task, example: dict) -> str | None:
    """Why the model's calls must not reach the client's code (a function the task does not
    have, arguments its schema refuses, a call the request cannot run: a device not in its
    home, `task.request_calls_problem`), or None."""
    calls = answer if isinstance(answer, list) else []
    for call in calls:
        if call["name"] not in schemas:
            return f"unknown function {call['name'][:60]!r}"
        if error := validation_error(schemas[call["name"]], call["arguments"]):
            return f"{call['name']}: {error[:200]}"
    return task.request_calls_problem(example, calls) if calls else None


async def read_body(request: Request, limit: int, timeout: float) -> bytes:
    """The body, refused with 413 as soon as it is known to be over `limit` bytes, and with 408
    unless it has all arrived within `timeout` seconds."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise RequestError(413, f"request body of {declared} bytes is over this server's limit of {limit}")
    body = bytearray()
    try:
        async with asyncio.timeout(timeout):
            async for chunk in request.stream():
                body += chunk
                if len(body) > limit:
                    raise RequestError(413, f"request body is over this server's limit of {limit} bytes")
    except TimeoutError:
        raise RequestError(408, f"the request body did not arrive within {timeout:g} s") from None
    return bytes(body)


def exposure_warning(host: str, api_key: str | None, api_key_env: str) -> str | None:
    """A warning when the server is reachable beyond this machine and anyone may use it."""
    if api_key is not None:
        return None
    try:
        if host == "localhost" or ipaddress.ip_address(host).is_loopback:
            return None
    except ValueError:
        pass
    return f"supertiny: warning: serving on {host} without an API key: anyone who can reach it may use the model (set {api_key_env})"


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
    max_connections: int = 512,
    read_timeout: float = 10.0,
    fallback=None,
    constrained: bool = False,
    confidence: str = "lowest_token",
) -> None:
    """Load the model folder and serve it until interrupted; `constrained`, `confidence`: the params'
    `generation` settings (the fallback's threshold was calibrated under that confidence)."""
    import uvicorn

    from supertiny.runtime.loading import load_predictor
    from supertiny.serve.connections import fit_open_files, uvicorn_settings

    api_key = os.environ.get(api_key_env) or None
    if warning := exposure_warning(host, api_key, api_key_env):
        print(warning, file=sys.stderr)
    check_budget(folder, limits)
    default_context = load_context(context_file, task, limits) if context_file else None
    predictor = load_predictor(folder, task, limits.max_tokens_cap, reuse_prefix=True, constrained=constrained,
                               confidence=confidence)  # the batcher sets each batch's own limit
    app = create_app(
        predictor, task, model_name or Path(folder).resolve().name, limits, default_context,
        api_key=api_key, max_batch=max_batch, max_queue=max_queue, read_timeout=read_timeout, fallback=fallback,
    )
    settings = uvicorn_settings(fit_open_files(max_connections), read_timeout)
    uvicorn.run(app, host=host, port=port, log_level="info", **settings)


def load_context(path: str, task, limits: Limits) -> dict:
    """The `--context` file, checked once here as a request's context is checked."""
    from supertiny.jsonl import read_json

    context = read_json(path)
    size = len(json.dumps(context).encode())
    if size > limits.max_context_bytes:
        raise SupertinyError(f"{path}: {size} bytes of JSON, over --max-context-bytes {limits.max_context_bytes}")
    try:
        task.student_context(context)
    except Exception as error:
        raise SupertinyError(f"{path}: not a valid {task.name} context ({type(error).__name__}: {error})") from None
    return context
