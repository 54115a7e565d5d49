"""`supertiny serve` on loopback: the official openai client gets a model folder's calls, bad
requests get 4xx, and a bounded load test (32 clients x 20 requests) measures throughput."""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import threading
import time
from pathlib import Path

import httpx
import openai
import pytest
from model_folders import teacher_model_folder, tiny_model_folder
from servers import free_port, subprocess_server, threaded_server

from supertiny.cli import main
from supertiny.runtime.loading import load_predictor
from supertiny.runtime.prediction import Prediction
from supertiny.serve.app import create_app

KEY_ENV, KEY = "SUPERTINY_TEST_SERVE_KEY", "test-token-123"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tiny_folder(tiny_student, tmp_path_factory):
    return tiny_model_folder(tiny_student, tmp_path_factory.mktemp("served") / "tiny")


@pytest.fixture(scope="module")
def served(tiny_folder, tmp_path_factory):
    """`supertiny serve` in a subprocess, as a user starts it: the tiny model, bearer auth on."""
    root = tmp_path_factory.mktemp("serve")
    port = free_port()
    command = [
        sys.executable, "-m", "supertiny.cli", "serve", str(tiny_folder), "--port", str(port), "--params", str(ROOT / "params.yaml"),
        "--max-tokens-cap", "16", "--max-input-chars", "500", "--api-key-env", KEY_ENV, "--threads", "1", "--max-batch", "16",
    ]
    with subprocess_server(command, port, "/health", root / "serve.log", env={KEY_ENV: KEY}):
        yield f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def teacher_server(task, tmp_path_factory):
    """The reference teacher's model folder served in-process: a model whose answers are real calls."""
    folder = teacher_model_folder(tmp_path_factory.mktemp("teacher"))
    with threaded_server(create_app(load_predictor(folder, task, max_new_tokens=32), task, "teacher")) as url:
        yield url


def example_of(splits, category):
    return next(e for e in splits["test"] if e["category"] == category)


@pytest.mark.timeout(60)
def test_openai_client_gets_tool_calls_from_a_served_model_folder(teacher_server, task, splits):
    client = openai.OpenAI(base_url=f"{teacher_server}/v1", api_key="unused", max_retries=0)
    assert [m.id for m in client.models.list().data] == ["teacher"]
    example = example_of(splits, "parallel")
    response = client.chat.completions.create(
        model="teacher", messages=[{"role": "user", "content": example["input"]}], tools=task.action_tools,
        extra_body={"context": example["context"]},
    )
    choice = response.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    calls = [{"name": c.function.name, "arguments": json.loads(c.function.arguments)} for c in choice.message.tool_calls]
    assert calls == example["gold"] and len({c.id for c in choice.message.tool_calls}) == len(calls)
    assert response.usage.prompt_tokens > 0

    reply = example_of(splits, "irrelevance")
    response = client.chat.completions.create(  # the context as a system message holding its JSON
        model="teacher", tools=task.action_tools,
        messages=[{"role": "system", "content": json.dumps(reply["context"])}, {"role": "user", "content": reply["input"]}],
    )
    assert response.choices[0].finish_reason == "stop" and response.choices[0].message.content == reply["gold"]

    stream = client.chat.completions.create(
        model="teacher", messages=[{"role": "user", "content": example["input"]}], stream=True,
        extra_body={"context": example["context"]}, stream_options={"include_usage": True},
    )
    chunks = list(stream)
    streamed = [c for chunk in chunks if chunk.choices for c in chunk.choices[0].delta.tool_calls or []]
    assert [json.loads(c.function.arguments) for c in streamed] == [c["arguments"] for c in example["gold"]]
    assert chunks[-1].usage.prompt_tokens > 0


@pytest.mark.timeout(120)
def test_openai_client_gets_the_served_tiny_models_own_answer(served, tiny_folder, task, splits):
    client = openai.OpenAI(base_url=f"{served}/v1", api_key=KEY, max_retries=0)
    assert [m.id for m in client.models.list().data] == ["tiny"]
    example = example_of(splits, "simple")
    response = client.chat.completions.create(
        model="tiny", messages=[{"role": "user", "content": example["input"]}], tools=task.action_tools, max_tokens=8,
        extra_body={"context": example["context"]},
    )
    [expected] = load_predictor(tiny_folder, task, max_new_tokens=8).predict([example])
    message = response.choices[0].message
    if isinstance(expected.answer, list):
        assert [c.function.name for c in message.tool_calls] == [c["name"] for c in expected.answer]
    else:
        assert message.content == (expected.answer if expected.answer is not None else expected.text)
    assert response.usage.prompt_tokens == expected.prompt_tokens and response.usage.completion_tokens == expected.new_tokens


@pytest.mark.timeout(60)
def test_bad_requests_get_4xx_with_a_clear_message(served, splits):
    example = example_of(splits, "simple")
    good = {"model": "tiny", "messages": [{"role": "user", "content": example["input"]}], "context": example["context"], "max_tokens": 4}
    headers = {"Authorization": f"Bearer {KEY}"}

    def post(body, **kwargs) -> tuple[int, str]:
        content = body if isinstance(body, (bytes, str)) else json.dumps(body)
        response = httpx.post(f"{served}/v1/chat/completions", content=content, headers=kwargs.get("headers", headers), timeout=30)
        return response.status_code, response.json()["error"]["message"] if response.status_code != 200 else ""

    assert post(good)[0] == 200
    cases = [
        (b'{"model": "tiny", "messages": [', 400, "not valid JSON"),
        ({**good, "model": "gpt-9"}, 404, "'gpt-9' is not served here"),
        ({**good, "max_tokens": 17}, 400, "over this server's cap of 16"),
        ({**good, "messages": [{"role": "user", "content": "x" * 501}]}, 413, "at most 500"),
        (b"{" + b" " * (1 << 20) + b"}", 413, "over this server's limit"),
        ({key: value for key, value in good.items() if key != "context"}, 400, "carries no context"),
        ({**good, "context": {"rooms": "kitchen"}}, 400, "not a valid smart_home context"),
        ({**good, "messages": [{"role": "system", "content": "hi"}]}, 400, "no user message"),
        ({**good, "n": 3}, 400, "n must be 1"),
    ]
    for body, status, message in cases:
        got = post(body)
        assert got[0] == status and message in got[1], (status, message, got)
    assert post(good, headers={})[0] == 401 and post(good, headers={"Authorization": "Bearer nope"})[0] == 401
    assert httpx.get(f"{served}/v1/models", timeout=10).status_code == 401

    client = openai.OpenAI(base_url=f"{served}/v1", api_key=KEY, max_retries=0)
    with pytest.raises(openai.BadRequestError, match="over this server's cap"):
        client.chat.completions.create(model="tiny", messages=good["messages"], max_tokens=99, extra_body={"context": good["context"]})


@pytest.mark.timeout(60)
def test_a_full_queue_answers_503_and_the_server_keeps_going(task, splits):
    gate = threading.Event()

    class Held:  # a predictor that answers only once the gate opens
        def predict(self, examples, batch_size=1):
            gate.wait(10)
            return [Prediction("ok", "ok", 3, 1) for _ in examples]

    body = {"model": "held", "messages": [{"role": "user", "content": "hi"}], "context": splits["test"][0]["context"]}
    with threaded_server(create_app(Held(), task, "held", max_batch=1, max_queue=1)) as url:
        with httpx.Client(base_url=url, timeout=20) as client:
            results = []
            workers = [threading.Thread(target=lambda: results.append(client.post("/v1/chat/completions", json=body))) for _ in range(3)]
            for worker in workers:
                worker.start()
                time.sleep(0.3)  # one runs, one waits in the queue, the third finds it full
            gate.set()
            for worker in workers:
                worker.join()
            assert sorted(r.status_code for r in results) == [200, 200, 503]
            assert client.post("/v1/chat/completions", json=body).json()["choices"][0]["message"]["content"] == "ok"


def test_serve_refuses_bad_options_in_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["serve", str(tmp_path), "--max-tokens-cap", "0"])
    assert exit_info.value.code == 2 and "--max-tokens-cap" in capsys.readouterr().err


async def _load(url: str, bodies: list[dict], clients: int, requests_each: int) -> tuple[list[float], int]:
    latencies, errors = [], 0
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=120, headers={"Authorization": f"Bearer {KEY}"}) as http:

        async def client(number: int) -> None:
            nonlocal errors
            for i in range(requests_each):
                start = time.perf_counter()
                response = await http.post("/v1/chat/completions", json=bodies[(number * requests_each + i) % len(bodies)])
                latencies.append(time.perf_counter() - start)
                errors += response.status_code != 200 or not response.json()["choices"]

        await asyncio.gather(*(client(n) for n in range(clients)))
    return latencies, errors


@pytest.mark.benchmark(group="serve")
@pytest.mark.timeout(180)
def test_load_32_clients_x_20_requests(served, splits, benchmark):
    clients, each = 32, 20
    bodies = [
        {"model": "tiny", "messages": [{"role": "user", "content": e["input"]}], "context": e["context"], "max_tokens": 8}
        for e in splits["test"][:64]
    ]
    outcome = {}

    def run():
        start = time.perf_counter()
        outcome["latencies"], outcome["errors"] = asyncio.run(_load(served, bodies, clients, each))
        outcome["wall"] = time.perf_counter() - start

    benchmark.pedantic(run, rounds=1, iterations=1)
    latencies = sorted(outcome["latencies"])
    assert len(latencies) == clients * each and outcome["errors"] == 0
    benchmark.extra_info.update({
        "requests": len(latencies),
        "throughput_rps": round(len(latencies) / outcome["wall"], 1),
        "latency_p50_ms": round(statistics.median(latencies) * 1000, 1),
        "latency_p95_ms": round(latencies[int(0.95 * len(latencies)) - 1] * 1000, 1),
    })
    print(f"\nserve load test: {benchmark.extra_info}")
