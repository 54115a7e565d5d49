"""One chat-completions client for everything that pays an OpenAI-compatible endpoint:
the teacher's tool loop and the LLM judge.

The official `openai` client does the HTTP, with its own retries off so that every failure
is seen here, counted by kind and retried with exponential backoff and jitter, never
sooner than the server's Retry-After (up to `backoff_max_s`). Each request must be
complete within `timeout_s` (`RequestLoop`): a reply that never ends is a timeout. A reply is
checked before it is cached (`checked_completion`): a malformed one is retried, never
stored. Responses go through the content-addressed cache (`teacher.cache`): a request
already paid for is never sent again. Every request first waits for the run's rate limits
(`teacher.limits`: requests and tokens per minute, and any Retry-After pause), shared by all
the tool loops in flight.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import random
import threading
import time
import weakref
from collections import Counter
from email.utils import parsedate_to_datetime

from supertiny.errors import SupertinyError
from supertiny.params import TeachParams
from supertiny.teacher.cache import ResponseCache, request_key
from supertiny.teacher.limits import RateLimits

FAILURE_KINDS = ("rate_limit", "server_error", "timeout", "connection", "bad_response", "malformed_tool_call")


class BadResponse(Exception):
    """A 2xx answer that is not a chat completion (not JSON, no choices)."""


class DeadlineExceeded(Exception):
    """The whole request (connect, upload, headers and body) took longer than `timeout_s`."""


class RequestLoop:
    """An asyncio event loop on a daemon thread, on which every request of one client runs
    under one overall deadline, whichever thread asked.

    Why not the SDK's `timeout`: it becomes httpx's timeouts, which bound each socket
    operation (connect, one write, one read), so a reply dribbled a few bytes at a time
    never trips them and may last for ever. A blocking read cannot be interrupted from
    outside, and a watchdog thread would leave the dribbling connection open behind it;
    a coroutine can be cancelled at any await, which is what `asyncio.timeout` does: the
    request stops at its deadline and httpx closes its connection. The caller's thread
    just waits for the coroutine's result."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, name="teacher-requests", daemon=True).start()

    def run(self, coroutine):
        future = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        try:
            return future.result()
        except BaseException:
            future.cancel()  # e.g. Ctrl-C in the waiting thread: the requests in flight stop too
            raise

    @staticmethod
    def stop(loop: asyncio.AbstractEventLoop, client) -> None:
        """Close `client`'s connections on `loop`, then stop it (when the client is dropped or the
        process exits). Waits for nothing: a finalizer may run on the loop's own thread."""
        if loop.is_running():
            closing = asyncio.run_coroutine_threadsafe(client.close(), loop)
            closing.add_done_callback(lambda _: loop.call_soon_threadsafe(loop.stop))


class ClientStats:
    """Thread-safe counts of what this run asked the endpoint and what went wrong, by kind."""

    def __init__(self):
        self._lock = threading.Lock()
        self._counts: Counter = Counter()

    def add(self, name: str, n: int = 1) -> None:
        with self._lock:
            self._counts[name] += n

    def as_metrics(self) -> dict[str, int]:
        with self._lock:
            counts = dict(self._counts)
        return {
            "requests_sent": counts.get("requests_sent", 0),
            "cache_hits": counts.get("cache_hits", 0),
            "retries": counts.get("retries", 0),
            **{f"failures_{kind}": counts.get(f"failures_{kind}", 0) for kind in FAILURE_KINDS},
            **({"batches_sent": counts["batches_sent"]} if "batches_sent" in counts else {}),  # teach.batch only
        }


class ChatClient:
    """Thread-safe (`create`, for the LLM judge and the serve fallback) and asyncio-native
    (`acreate`, for hundreds of tool loops on the request loop, `loop`)."""

    def __init__(self, params: TeachParams):
        import httpx2
        from openai import AsyncOpenAI

        key = os.environ.get(params.api_key_env)
        if not key:
            if params.base_url is None:
                raise SupertinyError(
                    f"params.yaml: teach.backend is openai but the environment variable {params.api_key_env} is not set"
                )
            key = "not-needed"  # local OpenAI-compatible servers often accept any key
        self._secret = key
        self.params = params
        self.base_url = params.base_url
        self.cache = ResponseCache(params.cache_dir) if params.cache_dir else None
        self.stats = ClientStats()
        self.limits = RateLimits(params.requests_per_minute, params.tokens_per_minute)
        self._requests = RequestLoop()
        self.loop = self._requests.loop
        # the per-operation timeouts stay as a backstop; the deadline on the whole request is _fetch's
        self._client = AsyncOpenAI(
            base_url=params.base_url, api_key=key, max_retries=0, timeout=params.timeout_s,
            http_client=http_client(params.concurrency, params.timeout_s),
        )
        self._response_type = httpx2.Response
        weakref.finalize(self, RequestLoop.stop, self._requests.loop, self._client)
        self._random = random.Random()

    @property
    def sdk(self):
        """The SDK client (files and batches for `teacher.batch`); use it on `loop` only."""
        return self._client

    def run(self, coroutine):
        """Run `coroutine` on the request loop and wait for its result (from any other thread)."""
        return self._requests.run(coroutine)

    def create(self, request: dict) -> tuple[dict, bool]:
        """(chat completion as plain JSON, whether it was sent now rather than read from the cache)."""
        return self._requests.run(self.acreate(request))

    def cached(self, key: str) -> dict | None:
        """The cached response for `key` (counted as a hit), or None."""
        if self.cache is None:
            return None
        cached = self.cache.get(key)
        if cached is not None:
            self.stats.add("cache_hits")
        return cached

    async def acreate(self, request: dict) -> tuple[dict, bool]:
        """`create` as a coroutine on `loop`: the rate limits are waited for, the backoff is slept, outside the deadline."""
        key = request_key(self.base_url, request)
        cached = self.cached(key)
        if cached is not None:
            return cached, False
        problem = ""
        for attempt in range(self.params.max_retries + 1):
            estimate = await self.limits.acquire(request)
            self.stats.add("requests_sent")
            try:
                response = checked_completion(await self._fetch(request))
            except Exception as error:
                kind, retry_after = self._classify(error)
                self.stats.add(f"failures_{kind}")
                problem = f"{kind}: {self._redact(str(error))}"
                if retry_after is not None:
                    # the server asked the whole client to wait, not just this request: hundreds of loops
                    # retrying on their own schedules would keep it over its limit (capped like the backoff)
                    self.limits.pause(min(retry_after, self.params.backoff_max_s))
                if attempt < self.params.max_retries:
                    self.stats.add("retries")
                    # the server's Retry-After, but never past backoff_max_s: a day-long (or infinite) ask
                    # would hang the stage; the retry then finds out whether the server meant it
                    await asyncio.sleep(min(max(retry_after or 0.0, self._backoff(attempt)), self.params.backoff_max_s))
                continue
            self.limits.settle(estimate, response.get("usage"))
            if self.cache is not None:
                self.cache.put(key, response)
            return response, True
        raise self.failed_for_good(problem)

    def failed_for_good(self, problem: str) -> SupertinyError:
        where = f"; paid responses are cached in {self.cache.path}, rerun to resume" if self.cache else ""
        return SupertinyError(
            f"teach: {self.base_url or 'the OpenAI API'} failed {self.params.max_retries + 1} times for one request "
            f"(last: {problem}){where}"
        )

    async def _fetch(self, request: dict) -> bytes:
        """The reply's body, all of it within `timeout_s` of the start, or DeadlineExceeded."""
        try:
            async with asyncio.timeout(self.params.timeout_s):
                # the SDK's low-level post, as its README shows for requests it has no method for: the request
                # is plain JSON already, and `chat.completions.create` would first walk every message and tool
                # schema against its typed params (milliseconds a request: the main cost at hundreds a second)
                raw = await self._client.post("/chat/completions", body=request, cast_to=self._response_type)
                return raw.content  # the SDK has read the whole body inside the deadline
        except TimeoutError:
            raise DeadlineExceeded(f"no complete reply within teach.timeout_s ({self.params.timeout_s:g} s)") from None

    def _classify(self, error: Exception) -> tuple[str, float | None]:
        """The failure's kind and the server's Retry-After in seconds; a non-retryable error is raised."""
        import openai

        if isinstance(error, BadResponse):
            return "bad_response", None
        if isinstance(error, (DeadlineExceeded, openai.APITimeoutError)):
            return "timeout", None
        if isinstance(error, openai.APIConnectionError):
            return "connection", None
        if isinstance(error, openai.APIStatusError):
            status, retry_after = error.status_code, retry_after_seconds(error.response.headers)
            if status == 429:
                return "rate_limit", retry_after
            if status == 408:
                return "timeout", retry_after
            if status >= 500 or status == 409:
                return "server_error", retry_after
            message = self._redact(str(error.message)).splitlines()[0][:300]
            raise SupertinyError(f"teach: {self.base_url or 'the OpenAI API'} answered {status} ({message})") from None
        raise error

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with equal jitter: half the step is fixed, half random."""
        step = min(self.params.backoff_max_s, self.params.backoff_base_s * 2**attempt)
        return step / 2 + self._random.uniform(0, step / 2)

    def _redact(self, text: str) -> str:
        return text.replace(self._secret, "***") if self._secret else text


def http_client(concurrency: int, timeout_s: float):
    """The SDK's aiohttp transport (the `openai[aiohttp]` extra) with a connection for every
    request in flight, else its httpx one.

    Why aiohttp: httpx's pool looks through every connection for each request it sends and
    each it finishes, so at hundreds in flight the pool alone costs milliseconds a request on
    the one thread all requests share, and caps the run near 100 requests a second on 2
    cores; aiohttp's pool hands a connection out in constant time. Either way the pool must
    hold `concurrency` connections, kept alive between requests (the SDK's default keeps 100
    idle: past that, every request would open a connection and wait out its handshake)."""
    import httpx2
    from openai import DefaultAioHttpClient, DefaultAsyncHttpxClient

    size = max(100, concurrency)
    limits = httpx2.Limits(max_connections=size, max_keepalive_connections=size)
    try:
        return DefaultAioHttpClient(limits=limits, timeout=timeout_s)
    except RuntimeError:  # the SDK says aiohttp is not installed
        return DefaultAsyncHttpxClient(limits=limits, timeout=timeout_s)


def checked_completion(body: bytes) -> dict:
    """The response, if it is a chat completion the tool loop can use; else BadResponse (retried,
    never cached: a malformed reply in the cache would fail every rerun the same way)."""
    try:
        response = json.loads(body)
        message = response["choices"][0]["message"]
    except (ValueError, KeyError, IndexError, TypeError, RecursionError) as error:
        raise BadResponse(f"not a chat completion ({type(error).__name__})") from None
    if not isinstance(message, dict):
        raise BadResponse("choices[0].message is not an object")
    if not isinstance(message.get("content"), (str, type(None))):
        raise BadResponse("message.content is neither text nor null")
    calls = message.get("tool_calls")
    if calls is not None:
        if not isinstance(calls, list):
            raise BadResponse("message.tool_calls is not a list")
        for call in calls:
            function = call.get("function") if isinstance(call, dict) else None
            if not isinstance(function, dict) or not isinstance(function.get("name"), str):
                raise BadResponse("a tool call has no function name")
            if not isinstance(function.get("arguments"), (str, dict, type(None))):
                raise BadResponse("a tool call's arguments are neither a JSON string nor an object")
    usage = response.get("usage")
    if usage is not None:
        counts = [usage.get(k) for k in ("prompt_tokens", "completion_tokens")] if isinstance(usage, dict) else [None, "x"]
        if any(c is not None and (not isinstance(c, int) or isinstance(c, bool) or c < 0) for c in counts):
            raise BadResponse("usage token counts are not non-negative integers")
    return response


def retry_after_seconds(headers) -> float | None:
    """Retry-After as seconds: `retry-after-ms`, or `retry-after` in seconds or as an HTTP date;
    None for anything that is not a finite time."""
    seconds = _retry_after(headers)
    return max(0.0, seconds) if seconds is not None and math.isfinite(seconds) else None


def _retry_after(headers) -> float | None:
    if headers.get("retry-after-ms"):
        try:
            return float(headers["retry-after-ms"]) / 1000
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(value).timestamp() - time.time()
    except (TypeError, ValueError):
        return None
