"""Requests per second of the real teacher path (ChatClient, asyncio tool loops, run_teacher)
against a loopback endpoint that answers after 0.5 s, at concurrency 256: the bound is
256 / 0.5 s = 512 requests a second. The server runs in a process of its own, so it does not
share the client's interpreter.

With the suite's default `--benchmark-disable` it runs once on a few hundred requests as a
plain test of the path; `--benchmark-enable -n 0` measures 2,000 requests and writes
`throughput.json` (requests/s, the ratio to the bound, the client's CPU per request) under
pytest's temporary folder, printing the figures. The figure is not asserted: on a shared
2-core machine it says as much about the neighbours as about the code (README, A remote
teacher at scale).
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from pathlib import Path

import httpx
import pytest
from servers import free_port, subprocess_server

from presets import shipped
from supertiny.teacher.openai_backend import OpenAIBackend
from supertiny.teacher.run import run_teacher

DELAY_S, CONCURRENCY = 0.5, 256
SERVER = Path(__file__).with_name("delay_server.py")


@pytest.mark.benchmark
@pytest.mark.timeout(300)
def test_teacher_requests_per_second(benchmark, task, splits, tmp_path, capsys):
    requests = 2000 if not benchmark.disabled else 512
    work = [{**splits["train"][i % len(splits["train"])], "id": f"copy-{i}"} for i in range(requests)]
    port = free_port()
    with subprocess_server([sys.executable, str(SERVER), str(port), str(DELAY_S)], port, "/stats", tmp_path / "server.log"):
        params = dataclasses.replace(
            shipped().teach, backend="openai", model="delay", base_url=f"http://127.0.0.1:{port}/v1",
            api_key_env="SUPERTINY_TEST_TEACHER_KEY", cache_dir=None, concurrency=CONCURRENCY, timeout_s=60.0,
        )
        backend = OpenAIBackend(params)
        measured = {}

        def run():
            wall, cpu = time.perf_counter(), time.process_time()
            traces = run_teacher(backend, task, work, params, desc="throughput")
            measured.update(wall=time.perf_counter() - wall, cpu=time.process_time() - cpu, traces=len(traces))

        benchmark.group = f"teacher requests/s (delay {DELAY_S} s, concurrency {CONCURRENCY})"
        benchmark.pedantic(run, rounds=1, iterations=1)
        stats = httpx.get(f"http://127.0.0.1:{port}/stats").json()
    assert measured["traces"] == requests == stats["requests"] == backend.counters()["requests_sent"]
    rate = requests / measured["wall"]
    figures = {
        "requests": requests, "concurrency": CONCURRENCY, "delay_s": DELAY_S,
        "requests_per_s": round(rate, 1), "bound_requests_per_s": CONCURRENCY / DELAY_S,
        "ratio_to_bound": round(rate / (CONCURRENCY / DELAY_S), 3),
        "client_cpu_ms_per_request": round(measured["cpu"] / requests * 1000, 2),
        "server_max_in_flight": stats["max_in_flight"],
    }
    (tmp_path / "throughput.json").write_text(json.dumps(figures, indent=2))
    benchmark.extra_info.update(figures)
    with capsys.disabled():
        print(f"\nteacher throughput: {json.dumps(figures)}")
