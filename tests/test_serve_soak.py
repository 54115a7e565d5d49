"""A bounded soak of `supertiny serve` (issue 16): 32 clients send good requests mixed with
what the attacker sent, hang up on some, and 100 more connections idle or trickle, for
SUPERTINY_SOAK_SECONDS (default 60) against the tiny preset. Every good request gets a 200 with
a well-formed answer, every hostile one its 4xx, none a 5xx or a dropped connection, the log
holds no traceback, and the server's RSS stays within RSS_GROWTH_MIB of its size after warm-up.

As a benchmark, longer: SUPERTINY_SOAK_SECONDS=600 pytest tests/test_serve_soak.py --benchmark-enable -n 0 -s
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import statistics
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from model_folders import tiny_model_folder
from serve_harness import HEADERS, chat_body, encoded, hostile_requests, tiny_server, well_formed

SECONDS = float(os.environ.get("SUPERTINY_SOAK_SECONDS", "60"))
CLIENTS, IDLERS = 32, 100
HOSTILE_SHARE, ABANDON_SHARE, STREAM_SHARE = 0.3, 0.05, 0.1
WARM_UP = 0.25  # of the run: RSS is compared with its peak by then
RSS_GROWTH_MIB = 64


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def good_stream(text: str) -> bool:
    """Server-sent chunks of one assistant answer, ending with [DONE]."""
    events = [line.removeprefix("data: ") for line in text.split("\n\n") if line]
    chunks = [json.loads(event) for event in events[:-1]]
    return events[-1] == "[DONE]" and chunks[0]["choices"][0]["delta"]["role"] == "assistant" and chunks[-1]["choices"][0]["finish_reason"]


def parses(check) -> bool:
    """`check()`, False where the body is not the JSON or events it should be."""
    try:
        return bool(check())
    except (ValueError, KeyError, IndexError, TypeError):
        return False


class Soak:
    """The load: what each client sends, what it got back, and the server's RSS over time."""

    def __init__(self, url: str, pid: int, examples: list[dict]):
        self.url, self.pid, self.examples = url, pid, examples
        self.hostile = list(hostile_requests(examples[0]).items())
        self.outcomes: Counter = Counter()
        self.failures: list[str] = []
        self.latencies: list[float] = []
        self.rss: list[tuple[float, float]] = []

    async def run(self, seconds: float) -> None:
        self.start, self.deadline = time.monotonic(), time.monotonic() + seconds
        limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
        async with httpx.AsyncClient(base_url=self.url, limits=limits, timeout=60) as http:
            await asyncio.gather(self.sample_rss(), *(self.idle() for _ in range(IDLERS)), *(self.client(http, n) for n in range(CLIENTS)))

    async def client(self, http: httpx.AsyncClient, number: int) -> None:
        rng = random.Random(number)
        while time.monotonic() < self.deadline:
            roll = rng.random()
            if roll < HOSTILE_SHARE:
                await self.attack(http, *rng.choice(self.hostile))
            elif roll < HOSTILE_SHARE + ABANDON_SHARE:
                await self.abandon(chat_body(rng.choice(self.examples)))
            else:
                body = chat_body(rng.choice(self.examples), max_tokens=rng.choice([1, 4, 8, 8, 16]), stream=rng.random() < STREAM_SHARE)
                await self.ask(http, body)

    async def ask(self, http: httpx.AsyncClient, body: dict) -> None:
        start = time.perf_counter()
        response = await self.post(http, encoded(body), HEADERS, "good")
        if response is None:
            return
        self.latencies.append(time.perf_counter() - start)
        formed = response.status_code == 200 and parses(lambda: good_stream(response.text) if body["stream"] else well_formed(response.json()))
        self.tally("good", formed, f"good request got {response.status_code}: {response.text[:200]}")

    async def attack(self, http: httpx.AsyncClient, name: str, request: tuple[bytes, dict, int]) -> None:
        body, headers, status = request
        response = await self.post(http, body, headers, "hostile")
        if response is not None:
            refused = response.status_code == status and parses(lambda: "error" in response.json())
            self.tally("hostile", refused, f"{name}: {response.status_code} {response.text[:200]}")

    async def post(self, http: httpx.AsyncClient, body: bytes, headers: dict, kind: str) -> httpx.Response | None:
        try:
            return await http.post("/v1/chat/completions", content=body, headers=headers)
        except httpx.HTTPError as error:
            self.tally(kind, False, f"{kind} request failed: {type(error).__name__}: {error}")
            return None

    async def abandon(self, body: dict) -> None:
        """Send a good request and hang up before its answer."""
        async with httpx.AsyncClient(base_url=self.url, headers=HEADERS, timeout=0.05) as http:
            try:
                await http.post("/v1/chat/completions", json=body)
            except httpx.TimeoutException:
                pass
        self.outcomes["abandoned"] += 1

    async def idle(self) -> None:
        """Hold a connection that never sends a whole request; open another when the server closes it."""
        host, port = self.url.removeprefix("http://").split(":")
        while time.monotonic() < self.deadline:
            reader, writer = await asyncio.open_connection(host, int(port))
            writer.write(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n")
            try:
                await asyncio.wait_for(reader.read(), timeout=max(0.1, self.deadline - time.monotonic()))
                self.outcomes["idle_closed_by_server"] += 1
            except (asyncio.TimeoutError, ConnectionError):
                pass
            writer.close()

    async def sample_rss(self) -> None:
        while time.monotonic() < self.deadline:
            self.rss.append((time.monotonic() - self.start, rss_mib(self.pid)))
            await asyncio.sleep(1)
        self.rss.append((time.monotonic() - self.start, rss_mib(self.pid)))

    def tally(self, kind: str, ok: bool, failure: str) -> None:
        self.outcomes[kind if ok else f"{kind}_failed"] += 1
        if not ok:
            self.failures.append(failure)

    def figures(self, seconds: float) -> dict:
        warm = max(rss for at, rss in self.rss if at <= WARM_UP * seconds)
        latencies = sorted(self.latencies)
        return {
            **self.outcomes,
            "seconds": round(seconds, 1),
            "good_rps": round(self.outcomes["good"] / seconds, 1),
            "good_p50_ms": round(statistics.median(latencies) * 1000, 1),
            "good_p95_ms": round(latencies[int(0.95 * len(latencies)) - 1] * 1000, 1),
            "rss_warm_mib": round(warm, 1),
            "rss_end_mib": round(self.rss[-1][1], 1),
            "rss_peak_mib": round(max(rss for _, rss in self.rss), 1),
            "rss_every_10s_mib": [round(rss) for _, rss in self.rss[::10]],
        }


@pytest.mark.benchmark(group="serve")
@pytest.mark.timeout(SECONDS + 240)
def test_soak_good_and_hostile_clients(tiny_student, splits, tmp_path, benchmark):
    folder = tiny_model_folder(tiny_student, tmp_path / "tiny")
    with tiny_server(folder, tmp_path / "serve.log", "--max-batch", "16", open_files=1024) as (url, process):
        soak = Soak(url, process.pid, splits["test"][:64])
        benchmark.pedantic(lambda: asyncio.run(soak.run(SECONDS)), rounds=1, iterations=1)
        alive = process.poll() is None
        health = httpx.get(f"{url}/health", headers=HEADERS, timeout=10).json()
    figures = soak.figures(SECONDS)
    benchmark.extra_info.update(figures)
    print(f"\nserve soak: {figures}\nserver counters: {health}")
    log = (tmp_path / "serve.log").read_text()
    assert alive and "Traceback" not in log, log[-3000:]
    assert soak.failures == [], soak.failures[:20]
    assert figures["good"] > 0 and figures["hostile"] > 0 and figures["abandoned"] > 0
    assert figures["rss_end_mib"] - figures["rss_warm_mib"] <= RSS_GROWTH_MIB, figures
