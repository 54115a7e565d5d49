"""`serve --fallback` against a real loopback teacher: unsure answers go to the teacher, every
hand-off is logged without secrets, and a teacher that fails never takes the tiny path down."""

from __future__ import annotations

import dataclasses
import json

import openai
import pytest
from fault_server import FaultServer
from model_folders import tiny_model_folder
from presets import shipped
from servers import threaded_server

from supertiny.cascade import HAND_OFF_ALL
from supertiny.runtime.loading import load_predictor
from supertiny.serve.app import create_app
from supertiny.errors import SupertinyError
from supertiny.serve.fallback import Fallback, read_threshold

KEY_ENV, SECRET = "SUPERTINY_TEST_TEACHER_KEY", "sk-teacher-secret-42"


@pytest.fixture(scope="module")
def tiny_predictor(tiny_student, task, tmp_path_factory):
    return load_predictor(tiny_model_folder(tiny_student, tmp_path_factory.mktemp("fallback") / "tiny"), task, max_new_tokens=8)


def teach_params(url: str):
    return dataclasses.replace(
        shipped().teach, backend="openai", base_url=f"{url}/v1", model="teacher", api_key_env=KEY_ENV, cache_dir=None,
        max_retries=1, backoff_base_s=0.01, backoff_max_s=0.02, timeout_s=5.0,
    )


def ask(url: str, example: dict):
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0)
    return client.chat.completions.create(model="tiny", messages=[{"role": "user", "content": example["input"]}], extra_body={"context": example["context"]})


@pytest.mark.timeout(120)
@pytest.mark.parametrize("teacher_up", [True, False])
def test_unsure_requests_get_the_teachers_answer_or_the_tiny_one_when_it_fails(tiny_predictor, task, splits, tmp_path, monkeypatch, teacher_up):
    monkeypatch.setenv(KEY_ENV, SECRET)
    teacher = FaultServer(task, faults=None if teacher_up else {i: "server_error" for i in range(100)})
    example = next(e for e in splits["test"] if e["category"] == "simple")
    handoffs = tmp_path / "handoffs" / "log.jsonl"
    with threaded_server(teacher.app) as teacher_url:
        fallback = Fallback(teach_params(teacher_url), task, HAND_OFF_ALL, handoffs)  # everything is handed off
        with threaded_server(create_app(tiny_predictor, task, "tiny", fallback=fallback)) as url:
            response = ask(url, example)
    extension = response.model_extra["supertiny"]
    assert teacher.requests() >= 1
    logged = [json.loads(line) for line in handoffs.read_text().splitlines()]
    assert len(logged) == 1 and logged[0]["input"] == example["input"] and logged[0]["context"] == example["context"]
    assert SECRET not in handoffs.read_text()
    if teacher_up:
        calls = [{"name": c.function.name, "arguments": json.loads(c.function.arguments)} for c in response.choices[0].message.tool_calls]
        assert extension["answered_by"] == "teacher" and calls == example["gold"]
        assert logged[0]["teacher"]["answer"] == example["gold"] and logged[0]["error"] is None
    else:
        assert extension["answered_by"] == "tiny" and "fallback_error" in extension and SECRET not in extension["fallback_error"]
        assert logged[0]["teacher"] is None and logged[0]["error"]
        assert response.choices[0].finish_reason in ("stop", "tool_calls", "length")


def test_confident_answers_stay_with_the_tiny_model(tiny_predictor, task, splits, tmp_path):
    """Threshold 0: only answers that did not parse or carry no confidence would be handed off."""
    example = splits["test"][0]
    tiny = tiny_predictor.predict([example])[0]
    fallback = Fallback(dataclasses.replace(shipped().teach, cache_dir=None), task, 0.0, tmp_path / "log.jsonl")
    assert tiny.confidence is not None and 0.0 < tiny.confidence <= 1.0
    assert fallback.needed(tiny) == (tiny.answer is None)


def test_a_threshold_calibrated_on_another_confidence_is_refused(tmp_path):
    """generation.confidence changed in params.yaml without rerunning calibrate: the threshold
    would be applied to numbers it was not picked on."""
    metrics = tmp_path / "cascade.json"
    metrics.write_text(json.dumps({"threshold": 0.634, "confidence": "answer"}))
    assert read_threshold(metrics, "answer") == 0.634
    with pytest.raises(SupertinyError, match=r"cascade.json: .*calibrated on confidence 'answer'.*generation.confidence is 'lowest_token'"):
        read_threshold(metrics, "lowest_token")
    metrics.write_text(json.dumps({"threshold": 0.661}))  # written before calibrate recorded it: lowest_token's
    assert read_threshold(metrics, "lowest_token") == 0.661
    with pytest.raises(SupertinyError, match="calibrated on confidence 'lowest_token'"):
        read_threshold(metrics, "answer")
