"""The endpoint's rate limits, kept client-side by every tool loop of one run together.

An endpoint caps requests and tokens per minute and answers 429 past them; hundreds of
concurrent tool loops would hit the cap at once and then retry together. So each request
first waits here: for the pause a server's Retry-After asked of the whole client, then for
a request from the `teach.requests_per_minute` bucket and its estimated tokens from the
`teach.tokens_per_minute` bucket.

Each bucket refills continuously and holds at most one second's worth (at least one request,
or one request's tokens): providers enforce per-minute limits over shorter periods too
(OpenAI: "60,000 requests/minute may be enforced as 1,000 requests/second"), so a full
minute's burst at the start would be refused. A request's tokens are estimated as the
provider counts them against the limit: its text (messages and tools, 4 characters a token)
plus `max_tokens`; once the reply's `usage` is known the difference is settled (usually given
back). A request larger than the bucket borrows from the next seconds: the bucket goes below
zero and the requests after it wait longer. Waiters are served in arrival order (an asyncio
lock is fair), so no tool loop starves.
"""

from __future__ import annotations

import asyncio
import json
import time


def estimated_tokens(request: dict) -> int:
    """What a request counts against a tokens-per-minute limit before its usage is known."""
    text = json.dumps([request.get("messages"), request.get("tools")], ensure_ascii=False)
    return len(text) // 4 + int(request.get("max_tokens") or 0)


class TokenBucket:
    """`per_minute` units a minute, refilled continuously, at most a second's worth banked."""

    def __init__(self, per_minute: float):
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, self.rate)
        self.level = self.capacity
        self.updated = time.monotonic()
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = time.monotonic()
        self.level = min(self.capacity, self.level + (now - self.updated) * self.rate)
        self.updated = now

    async def take(self, amount: float) -> None:
        """Wait until the bucket holds `amount` (or is full, for an amount above its capacity), then take it."""
        async with self._lock:
            self._refill()
            need = min(amount, self.capacity)
            while self.level < need:
                await asyncio.sleep((need - self.level) / self.rate)
                self._refill()
            self.level -= amount

    def settle(self, amount: float) -> None:
        """Give back (or, negative, take) what the estimate got wrong."""
        self._refill()
        self.level = min(self.capacity, self.level + amount)


class RateLimits:
    """Everything a request waits for before it is sent; one per client, shared by all its tasks."""

    def __init__(self, requests_per_minute: float | None, tokens_per_minute: float | None):
        self.requests = TokenBucket(requests_per_minute) if requests_per_minute else None
        self.tokens = TokenBucket(tokens_per_minute) if tokens_per_minute else None
        self.paused_until = 0.0
        self.waited_s = 0.0  # total time requests spent waiting here: what the limits cost

    def pause(self, seconds: float) -> None:
        """The server asked (Retry-After) for a break: no request of this client starts before it ends."""
        self.paused_until = max(self.paused_until, time.monotonic() + seconds)

    async def acquire(self, request: dict) -> int:
        """Wait for the pause, a request and the request's estimated tokens; returns that estimate."""
        started = time.monotonic()
        while (left := self.paused_until - time.monotonic()) > 0:
            await asyncio.sleep(left)
        if self.requests is not None:
            await self.requests.take(1)
        estimate = estimated_tokens(request) if self.tokens is not None else 0
        if self.tokens is not None:
            await self.tokens.take(estimate)
        while (left := self.paused_until - time.monotonic()) > 0:  # a 429 arrived while this one waited in line
            await asyncio.sleep(left)
        self.waited_s += time.monotonic() - started
        return estimate

    def settle(self, estimate: int, usage: dict | None) -> None:
        """Correct the token estimate by the reply's usage (prompt plus completion tokens), where it has one."""
        if self.tokens is None or not isinstance(usage, dict):
            return
        used = (usage.get("prompt_tokens") or 0) + (usage.get("completion_tokens") or 0)
        self.tokens.settle(estimate - used)
