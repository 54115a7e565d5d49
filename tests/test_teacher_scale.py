"""The teacher at scale, against real servers on loopback: hundreds of tool loops in flight
as asyncio tasks, client-side rate limits, the Retry-After pause, and the Batch API mode.
These assert behaviour (what the server saw), never speed; the speed figure is
test_teacher_throughput's benchmark (run with --benchmark-enable -n 0)."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time

import pytest
from batch_server import BatchServer
from delay_server import DelayServer
from fault_server import FaultServer
from servers import threaded_server

from presets import shipped
from supertiny.errors import SupertinyError
from supertiny.params import TeachParams
from supertiny.teacher.cache import ResponseCache
from supertiny.teacher.openai_backend import OpenAIBackend
from supertiny.teacher.run import BATCH_PRICE_FACTOR, cost_usd, run_teacher

KEY_ENV = "SUPERTINY_TEST_TEACHER_KEY"


def teach_params(url: str, cache_dir=None, **overrides) -> TeachParams:
    values = dict(
        backend="openai", model="teacher-over-http", base_url=f"{url}/v1", api_key_env=KEY_ENV,
        cache_dir=str(cache_dir) if cache_dir else None, concurrency=4, timeout_s=10.0, max_retries=3,
        backoff_base_s=0.01, backoff_max_s=0.05, batch_poll_s=0.05,
    )
    return dataclasses.replace(shipped().teach, **{**values, **overrides})


def many(examples: list[dict], n: int) -> list[dict]:
    """`n` examples cycling through `examples`, each with its own id."""
    return [{**examples[i % len(examples)], "id": f"copy-{i}"} for i in range(n)]


def finals(traces):
    return [(t["id"], t["status"], t["final"]) for t in traces]


def most_in_window(arrivals: list[tuple[float, int]], window_s: float, weight=lambda tokens: 1) -> float:
    """The most requests (or, with `weight`, tokens) that arrived within any `window_s` seconds."""
    arrivals = sorted(arrivals)
    best = 0
    for i, (start, _) in enumerate(arrivals):
        best = max(best, sum(weight(t) for when, t in arrivals[i:] if when < start + window_s))
    return best


@pytest.mark.timeout(60)
def test_hundreds_of_tool_loops_are_in_flight_at_once_and_keep_their_order(task, splits):
    """With 0.5 s a reply, 384 loops at concurrency 128 take three waves; the server sees
    (nearly) all 128 at once, which threads or a small connection pool would not give."""
    server = DelayServer(0.5)
    work = many(splits["train"], 384)
    with threaded_server(server) as url:
        backend = OpenAIBackend(teach_params(url, concurrency=128))
        traces = run_teacher(backend, task, work, backend.params, desc="in flight")
    assert [t["id"] for t in traces] == [e["id"] for e in work], "input order kept"
    assert all(t["final"] == "Done." and t["status"] == "ok" for t in traces)
    assert len(server.arrivals) == 384 == backend.counters()["requests_sent"]
    assert server.max_in_flight >= 0.9 * 128, f"only {server.max_in_flight} requests were ever in flight at once"
    assert server.max_in_flight <= 128, "never more than teach.concurrency"


@pytest.mark.timeout(60)
def test_a_requests_per_minute_cap_is_kept_by_all_loops_together(task, splits):
    """600 a minute is 10 a second, at most one second's worth (10) at once: in any second the
    server sees at most 10 + 10 (the burst, then the refill), though 32 loops are asking."""
    server = DelayServer(0.0)
    with threaded_server(server) as url:
        backend = OpenAIBackend(teach_params(url, concurrency=32, requests_per_minute=600))
        run_teacher(backend, task, many(splits["train"], 40), backend.params, desc="rpm")
    assert len(server.arrivals) == 40
    assert most_in_window(server.arrivals, 1.0) <= 21  # one of slack for the clock's granularity
    assert most_in_window(server.arrivals, 0.25) <= 10 + 3
    assert server.arrivals[-1][0] - server.arrivals[0][0] >= 2.5, "40 requests at 10 a second after a burst of 10 take 3 s"
    assert backend.counters()["rate_limit_wait_s"] > 0


@pytest.mark.timeout(60)
def test_a_tokens_per_minute_cap_counts_each_request_as_the_provider_does(task, splits):
    """The server reports as usage exactly the client's estimate, so the tokens it let through
    in any second are at most a second's worth banked plus a second's refill (plus the one
    request that may borrow past the bucket)."""
    server = DelayServer(0.0)
    work = many(splits["train"], 30)
    with threaded_server(server) as url:
        params = teach_params(url, concurrency=16, max_tokens=64)
        run_teacher(OpenAIBackend(params), task, work[:1], params, desc="probe")
        per_request = server.arrivals[0][1]
        server.arrivals.clear()
        per_second = 8 * per_request  # about 8 requests a second
        backend = OpenAIBackend(dataclasses.replace(params, tokens_per_minute=60 * per_second))
        run_teacher(backend, task, work, backend.params, desc="tpm")
    assert len(server.arrivals) == 30
    biggest = max(t for _, t in server.arrivals)
    assert most_in_window(server.arrivals, 1.0, weight=lambda t: t) <= 2 * per_second + biggest
    assert server.arrivals[-1][0] - server.arrivals[0][0] >= 2.0, "30 requests at about 8 a second take over 2 s"


@pytest.mark.timeout(60)
def test_a_retry_after_pauses_every_loop_not_just_the_one_refused(task, examples, reference_traces):
    server = FaultServer(task, {6: "rate_limit"}, retry_after=1.5)
    with threaded_server(server.app) as url:
        backend = OpenAIBackend(teach_params(url, concurrency=4, backoff_max_s=5.0))
        traces = run_teacher(backend, task, examples, backend.params, desc="pause")
    assert finals(traces) == finals(reference_traces)
    refused = next(e["time"] for e in server.log if e["fault"] == "rate_limit")
    during = [e for e in server.log if refused + 0.4 < e["time"] < refused + 1.4]
    assert not during, f"{len(during)} requests were sent while the server asked for a pause"
    assert any(e["time"] >= refused + 1.5 for e in server.log), "the run went on after the pause"


@pytest.mark.timeout(60)
def test_batch_mode_sends_each_round_as_one_batch_at_half_price_and_a_rerun_pays_nothing(task, examples, reference_traces, tmp_path):
    server = BatchServer(task, line_faults={3: "server_error", 14: "bad_shape"})
    with threaded_server(server.app) as url:
        backend = OpenAIBackend(teach_params(url, tmp_path / "cache", batch=True, concurrency=2))
        traces = run_teacher(backend, task, examples, backend.params, desc="batch")
        paid, batches = server.requests(), len(server.batches)
        again = OpenAIBackend(teach_params(url, tmp_path / "cache", batch=True))
        assert run_teacher(again, task, examples, again.params, desc="batch rerun") == traces
    assert finals(traces) == finals(reference_traces)
    rounds = max(t["turns"] for t in traces)
    assert server.requests("any") == paid and len(server.batches) == batches, "the rerun sent nothing"
    assert again.counters()["requests_sent"] == 0 and "batches_sent" not in again.counters()
    counters = backend.counters()
    # every round is one batch; a failed line is asked again in the next batch, which holds its
    # loop back a round: two failures add at most two batches (one if they hit different loops)
    assert rounds <= batches == counters["batches_sent"] <= rounds + 2
    assert paid == counters["requests_sent"] == sum(t["usage"]["requests"] for t in traces) + 2
    assert counters["failures_server_error"] == 1 and counters["failures_bad_response"] == 1 and counters["retries"] == 2
    assert len(ResponseCache(tmp_path / "cache")) == paid - 2, "the failed lines were never cached"
    for trace in traces:
        usage = trace["usage"]
        full = cost_usd(usage["prompt_tokens"], usage["completion_tokens"], backend.params)
        assert usage["cost_usd"] == round(full * BATCH_PRICE_FACTOR, 6) > 0


@pytest.mark.timeout(60)
def test_a_rerun_picks_up_the_batch_an_interrupted_run_left_waiting(task, examples, reference_traces, tmp_path):
    """The first run is stopped (its tasks cancelled, as a kill would) while its second round's
    batch is in progress; the rerun answers round 1 from the cache and waits for that very
    batch instead of submitting (and paying for) another."""
    server = BatchServer(task)
    server.hold_from = 1
    server.hold.set()
    with threaded_server(server.app) as url:
        first = OpenAIBackend(teach_params(url, tmp_path / "cache", batch=True))
        outcome = []

        def run_first():
            try:
                run_teacher(first, task, examples, first.params, "killed")
            except BaseException as error:  # the cancellation below
                outcome.append(error)

        thread = threading.Thread(target=run_first, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while len(server.batches) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        first.client.loop.call_soon_threadsafe(lambda: [t.cancel() for t in asyncio.all_tasks(first.client.loop)])
        thread.join(timeout=10)
        assert outcome and len(server.batches) == 2, "the first run stopped while round 2 was in progress"

        resumed = OpenAIBackend(teach_params(url, tmp_path / "cache", batch=True))
        threading.Timer(0.3, server.hold.clear).start()
        traces = run_teacher(resumed, task, examples, resumed.params, desc="resumed")
    assert finals(traces) == finals(reference_traces)
    rounds = max(t["turns"] for t in traces)
    assert len(server.batches) == rounds, "no round was submitted twice"
    assert resumed.counters()["batches_sent"] == rounds - 2 and resumed.counters()["cache_hits"] == len(examples)
    assert server.requests() == sum(t["usage"]["requests"] for t in traces), "every request was paid once"


@pytest.mark.timeout(30)
def test_a_refused_batch_line_stops_the_run_with_one_line(task, examples, tmp_path):
    server = BatchServer(task)
    with threaded_server(server.app) as url:
        params = teach_params(url, tmp_path / "cache", batch=True, max_retries=0)
        server.line_faults = {0: "server_error"}
        with pytest.raises(SupertinyError, match=r"failed 1 times for one request \(last: server_error: .*rerun to resume"):
            run_teacher(OpenAIBackend(params), task, examples[:3], params, desc="refused")
    assert len(ResponseCache(tmp_path / "cache")) == 2, "the lines that were answered are cached"
