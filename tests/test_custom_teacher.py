"""The teacher on a custom feature: the `openai` backend against a real loopback server that
replays the gold answers, the `replay` backend in process, and the user's helpers in the loop."""

from __future__ import annotations

import dataclasses
import json

import pytest
from custom_feature import ROOT, crm_settings
from fault_server import FaultServer
from presets import drawing, shipped
from servers import threaded_server

from supertiny.evaluation import evaluate_model
from supertiny.modelcard import write_card
from supertiny.params import as_dict
from supertiny.runtime.loading import load_predictor
from supertiny.tasks import get_task
from supertiny.teacher.backends import make_backend
from supertiny.teacher.loop import run_tool_loop
from supertiny.teacher.openai_backend import OpenAIBackend
from supertiny.teacher.replay import ReplayBackend
from supertiny.teacher.run import run_teacher

KEY_ENV = "SUPERTINY_TEST_TEACHER_KEY"


@pytest.fixture(scope="module")
def crm():
    import os

    here = os.getcwd()
    os.chdir(ROOT)  # the helpers' module path is relative to the project root
    try:
        task = get_task("custom", crm_settings())
        splits = task.generate(drawing(1))
        task.helper_tools  # noqa: B018 - import them here, at the root
    finally:
        os.chdir(here)
    return task, splits


def replay_params(**changes):
    return dataclasses.replace(shipped().teach, backend="replay", model="replay-gold", **changes)


def test_the_openai_backend_against_a_replaying_server_gets_the_gold_answers(crm, tmp_path, monkeypatch):
    task, splits = crm
    examples = splits["train"] + splits["dev"]
    server = FaultServer(task, faults={1: "rate_limit", 4: "server_error"}, retry_after=0.01, backend=ReplayBackend(task, examples))
    monkeypatch.setenv(KEY_ENV, "test-key")
    with threaded_server(server.app) as url:
        params = dataclasses.replace(
            shipped().teach, backend="openai", model="gold-over-http", base_url=f"{url}/v1", api_key_env=KEY_ENV,
            cache_dir=str(tmp_path / "cache"), timeout_s=5.0, backoff_base_s=0.01, backoff_max_s=0.05,
        )
        backend = OpenAIBackend(params)
        traces = run_teacher(backend, task, examples, params, desc="http")
        for trace, example in zip(traces, examples):
            assert trace["status"] == "ok" and trace["final"] == example.get("gold", ""), example["id"]
            assert trace["tools"] == example["tools"], "the example's own tools travel with its trace"
            assert trace["usage"]["cost_usd"] > 0 and not trace["usage"]["estimated"]
        counters = backend.counters()
        assert counters["retries"] == 2 and counters["failures_rate_limit"] == 1 and counters["failures_server_error"] == 1
        sent = server.requests()
        again = OpenAIBackend(params)
        assert run_teacher(again, task, examples, params, desc="rerun") == traces
        assert server.requests() == sent and again.counters()["cache_hits"] == len(examples), "a rerun pays nothing"


def test_the_replay_backend_answers_offline_and_counts_what_it_cannot(crm):
    task, splits = crm
    backend = make_backend(replay_params(), task, answered=splits["train"])
    traces = run_teacher(backend, task, splits["train"], replay_params(), desc="replay")
    unlabeled = [t for t in traces if t["category"] == "unlabeled"]
    assert len(unlabeled) == 3 and all(t["final"] == "" for t in unlabeled)
    assert all(t["final"] == e["gold"] for t, e in zip(traces, splits["train"]) if "gold" in e)
    assert backend.counters() == {"replay_unanswered": 3} and all(t["usage"]["estimated"] for t in traces)


def test_the_replay_teacher_is_evaluated_like_any_model(crm, tmp_path):
    task, splits = crm
    write_card(tmp_path, kind="teacher", stage="teach", inputs={}, params=as_dict(replay_params()))
    predictor = load_predictor(tmp_path, task, 16)
    metrics, rows = evaluate_model(predictor, splits["test"], batch_size=4, latency_samples=1)
    assert metrics["exact_match"] == 1.0 and metrics["examples"] == 7


class Scripted:
    """A chat backend that replays fixed assistant messages and records what it was sent."""

    name, model = "scripted", "scripted"

    def __init__(self, replies):
        self.replies, self.seen = list(replies), []

    def complete(self, messages, tools, sample=0):
        self.seen.append(([dict(m) for m in messages], tools))
        return self.replies.pop(0), {"prompt_tokens": 10, "completion_tokens": 2}


def _call(call_id, name, arguments):
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}


def test_the_teacher_looks_things_up_with_the_users_helpers(crm):
    task, splits = crm
    example = next(e for s in splits.values() for e in s if e["id"] == "crm-09")  # its own tools: log_call, create_task
    backend = Scripted([
        {"role": "assistant", "content": None, "tool_calls": [_call("a", "find_contact", {"name": "ben"}), _call("b", "get_deal", {"deal_id": "zz"})]},
        {"role": "assistant", "content": None, "tool_calls": [_call("c", "log_call", {"contact_id": "c2", "outcome": "connected", "minutes": 5})]},
    ])
    trace = run_tool_loop(backend, task, example, max_turns=4)
    assert trace.status == "ok" and trace.final == example["gold"]
    found, failed = [m for m in trace.messages if m["role"] == "tool"]
    assert json.loads(found["content"]) == [{"id": "c2", "name": "Ben Okafor", "company": "Lumen"}]
    assert "error" in json.loads(failed["content"]), "a helper that raises becomes an error the teacher reads"
    messages, tools = backend.seen[0]
    assert [t["function"]["name"] for t in tools] == ["find_contact", "get_deal", "log_call", "create_task"]
    assert messages == [{"role": "system", "content": json.dumps(example["context"], separators=(",", ":"))}, {"role": "user", "content": example["input"]}]


def test_the_teacher_prompt_goes_before_the_context(crm):
    task, splits = crm
    prompted = get_task("custom", dataclasses.replace(task.settings, teacher_prompt="You run a CRM."))
    assert prompted.teacher_messages(splits["dev"][0])[0]["content"].startswith("You run a CRM.\n\n{")
