"""The teacher's tool-calling loop, with the reference agent and with scripted replies."""

from __future__ import annotations

import dataclasses
import json

from presets import drawing, shipped
from supertiny.score import score_predictions
from supertiny.teacher.loop import run_tool_loop
from supertiny.teacher.reference import ReferenceBackend
from supertiny.teacher.run import run_teacher


def _call(call_id, name, arguments):
    arguments = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


class Scripted:
    """A chat backend that replays fixed assistant messages and records what it was sent."""

    name, model = "scripted", "scripted"

    def __init__(self, replies):
        self.replies, self.seen = list(replies), []

    def complete(self, messages, tools, sample=0):
        self.seen.append([dict(m) for m in messages])
        return self.replies.pop(0), {"prompt_tokens": 10, "completion_tokens": 2}


class BySample:
    """A chat backend whose one-turn answer depends on the self-consistency sample it is asked for."""

    name, model = "by-sample", "by-sample"

    def __init__(self, answers):
        self.answers, self.samples = answers, []

    def complete(self, messages, tools, sample=0):
        self.samples.append(sample)
        answer = self.answers[sample]
        if isinstance(answer, str):
            return {"role": "assistant", "content": answer}, {"prompt_tokens": 10, "completion_tokens": 2}
        calls = [_call(f"c{i}", c["name"], c["arguments"]) for i, c in enumerate(answer)]
        return {"role": "assistant", "content": None, "tool_calls": calls}, {"prompt_tokens": 10, "completion_tokens": 2}

    def counters(self):
        return {}


def test_reference_teacher_looks_devices_up_before_acting(task, splits):
    example = next(e for e in splits["test"] if e["category"] == "simple")
    trace = run_tool_loop(ReferenceBackend(task), task, example, max_turns=6)
    roles = [m["role"] for m in trace.messages]
    assert roles[:4] == ["system", "user", "assistant", "tool"]
    first = trace.messages[2]["tool_calls"][0]["function"]
    assert first["name"] == "find_devices"
    assert json.loads(trace.messages[3]["content"]), "the home answered the lookup"
    assert trace.status == "ok" and trace.final == example["gold"]
    assert trace.usage.requests == trace.turns >= 2


def test_relative_requests_read_the_state_first(task, splits):
    example = next(e for e in splits["test"] if e["category"] == "relative" and e["meta"]["templates"][0].startswith("brightness"))
    trace = run_tool_loop(ReferenceBackend(task), task, example, max_turns=6)
    names = [c["function"]["name"] for m in trace.messages if m["role"] == "assistant" for c in m.get("tool_calls", [])]
    assert "get_state" in names
    assert names.index("find_devices") < names.index("get_state")


def _blind_scores(task, examples):
    backend = ReferenceBackend(task)
    rows = []
    for example in examples:
        blind = {k: v for k, v in example.items() if k != "gold"}
        trace = run_tool_loop(backend, task, blind, max_turns=6)
        rows.append({"prediction": trace.final if trace.status == "ok" else None, "gold": example["gold"], "category": example["category"]})
    return score_predictions(rows)


def test_reference_teacher_is_good_but_not_perfect_and_never_needs_gold(task, splits):
    metrics = _blind_scores(task, splits["dev"])
    assert metrics["exact_match"] >= 0.9
    assert metrics["exact_match_irrelevance"] >= 0.9
    typo_on_every_request = task.generate(drawing(7, {"train": 8, "dev": 60, "test": 8}, typo_rate=1.0))["dev"]
    assert 0.6 <= _blind_scores(task, typo_on_every_request)["exact_match"] < 1.0, "its mistakes on typos are real ones"


def test_bad_helper_calls_come_back_as_errors_and_the_loop_goes_on(task, splits):
    example = splits["test"][0]
    backend = Scripted([
        {"role": "assistant", "content": None, "tool_calls": [
            _call("a", "teleport", {}),
            _call("b", "find_devices", {"room": 5}),
            _call("c", "get_state", "{not json"),
            _call("d", "get_state", {"device": "nope"}),
        ]},
        {"role": "assistant", "content": "Sorry, this home has no garage."},
    ])
    trace = run_tool_loop(backend, task, example, max_turns=4)
    errors = [json.loads(m["content"])["error"] for m in trace.messages if m["role"] == "tool"]
    assert "unknown function 'teleport'" in errors[0]
    assert "room" in errors[1] and "string" in errors[1]
    assert "not valid JSON" in errors[2]
    assert "unknown device" in errors[3]
    assert trace.status == "ok" and trace.final == "Sorry, this home has no garage."
    assert len(backend.seen[1]) == 2 + 1 + 4, "the second request carries the four tool results"


def test_final_turn_keeps_only_action_calls_and_flags_invalid_ones(task, splits):
    example = splits["test"][0]
    device = example["context"]["devices"][0]["id"]
    backend = Scripted([{"role": "assistant", "content": None, "tool_calls": [
        _call("a", "list_rooms", {}), _call("b", "set_power", {"device": device, "on": True}),
    ]}])
    trace = run_tool_loop(backend, task, example, max_turns=4)
    assert trace.final == [{"name": "set_power", "arguments": {"device": device, "on": True}}]
    assert trace.status == "ok"
    backend = Scripted([{"role": "assistant", "content": None, "tool_calls": [_call("a", "set_brightness", {"device": device, "level": 300})]}])
    assert run_tool_loop(backend, task, example, max_turns=4).status == "invalid_final"


def test_the_loop_stops_at_max_turns(task, splits):
    looping = {"role": "assistant", "content": None, "tool_calls": [_call("a", "list_rooms", {})]}
    backend = Scripted([looping] * 3)
    trace = run_tool_loop(backend, task, splits["test"][0], max_turns=3)
    assert trace.status == "max_turns" and trace.final is None and trace.turns == 3
    assert trace.usage.prompt_tokens == 30


def test_self_consistency_keeps_the_majority_answer_and_bills_every_sample(task, splits):
    example = next(e for e in splits["test"] if len(e["context"]["devices"]) >= 2)
    first, second = (d["id"] for d in example["context"]["devices"][:2])
    both = [{"name": "set_power", "arguments": {"device": first, "on": True}}, {"name": "set_power", "arguments": {"device": second, "on": True}}]
    one = [{"name": "set_power", "arguments": {"device": first, "on": False}}]
    backend = BySample([one, both, both[::-1], "Sorry?", both])  # the calls' order does not split the vote
    [trace] = run_teacher(backend, task, [example], dataclasses.replace(shipped().teach, samples=5, concurrency=1), desc="vote")
    assert sorted(backend.samples) == [0, 1, 2, 3, 4]
    assert trace["final"] == both and trace["agreement"] == 0.6 and trace["samples"] == 5
    assert trace["usage"]["requests"] == 5 and trace["usage"]["prompt_tokens"] == 50
    assert trace["usage"]["cost_usd"] == round((50 * 2.5 + 10 * 10.0) / 1e6, 6)


def test_a_tie_goes_to_the_earliest_sample_and_unfinished_loops_do_not_vote(task, splits):
    example = splits["test"][0]
    device = example["context"]["devices"][0]["id"]
    bad = [{"name": "set_brightness", "arguments": {"device": device, "level": 300}}]  # invalid_final: no vote
    backend = BySample(["Sorry, which device?", bad, bad, "No such room."])
    [trace] = run_teacher(backend, task, [example], dataclasses.replace(shipped().teach, samples=4, concurrency=1), desc="tie")
    assert trace["final"] == "Sorry, which device?" and trace["status"] == "ok" and trace["agreement"] == 0.25
