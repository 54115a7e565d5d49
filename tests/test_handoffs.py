"""The hand-off log as the next round's training data: `serve --fallback` against a real
loopback teacher writes it, `prepare` (the stage's script, on the tiny preset) adds its
requests to train, once each and never an evaluated one, for the built-in task and a custom
one; a bad row stops `prepare` in one line naming the file and the line; and DVC reruns
`prepare` when a log changes."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import sys

import openai
import pytest
import yaml
from custom_feature import FEATURE, copy_feature, crm_settings
from dvc_project import git_commit, run, tiny_project
from fault_server import FaultServer
from model_folders import tiny_model_folder
from presets import ROOT, drawing, shipped, write_tiny_params
from servers import threaded_server

from supertiny.cascade import HAND_OFF_ALL
from supertiny.errors import SupertinyError
from supertiny.handoffs import read_handoffs
from supertiny.jsonl import read_jsonl
from supertiny.params import load_params
from supertiny.runtime.loading import load_predictor
from supertiny.serve.app import create_app
from supertiny.serve.fallback import Fallback
from supertiny.tasks import get_task
from supertiny.teacher.replay import ReplayBackend

KEY_ENV, SECRET = "SUPERTINY_TEST_TEACHER_KEY", "sk-teacher-secret-42"


@pytest.fixture(scope="module")
def production(task) -> list[dict]:
    """Requests production might send: homes and utterances drawn apart from the preset's splits."""
    drawn = task.generate(drawing(99, {"train": 1, "dev": 1, "test": 3}))["test"]
    return [{"input": f"{e['input']} (production request {i})", "context": e["context"]} for i, e in enumerate(drawn)]


@pytest.fixture(scope="module")
def tiny_folder(tiny_student, tmp_path_factory):
    return tiny_model_folder(tiny_student, tmp_path_factory.mktemp("handoffs") / "tiny")


def teach_params(url: str):
    return dataclasses.replace(
        shipped().teach, backend="openai", base_url=f"{url}/v1", model="teacher", api_key_env=KEY_ENV, cache_dir=None,
        max_retries=1, backoff_base_s=0.01, backoff_max_s=0.02, timeout_s=5.0,
    )


def serve_with_fallback(predictor, task, teacher: FaultServer, log, requests: list[dict]) -> None:
    """Ask the served tiny model each request; every one is handed off to `teacher` and logged in `log`."""
    with threaded_server(teacher.app) as teacher_url:
        fallback = Fallback(teach_params(teacher_url), task, HAND_OFF_ALL, log)
        with threaded_server(create_app(predictor, task, "tiny", fallback=fallback)) as url:
            client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0)
            for request in requests:
                tools = {"tools": request["tools"]} if "tools" in request else {}
                client.chat.completions.create(
                    model="tiny", messages=[{"role": "user", "content": request["input"]}], extra_body={"context": request["context"]}, max_tokens=8, **tools,
                )


def tiny_project_params(root, **sections) -> None:
    """params.yaml of the tiny preset in `root`, with `sections` laid over it key by key."""
    shutil.copy(ROOT / "params.yaml", root / "params.yaml")
    write_tiny_params(root / "params.yaml")
    params = yaml.safe_load((root / "params.yaml").read_text())
    for section, values in sections.items():
        params[section].update(values)
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def prepare(root) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "stages" / "prepare.py")], cwd=root, capture_output=True, text=True)


def from_production(root) -> list[dict]:
    return [e for e in read_jsonl(root / "data/task/train.jsonl") if e.get("meta", {}).get("origin") == "handoff"]


@pytest.mark.timeout(600)
def test_the_smart_home_hand_offs_join_train_once_each_and_never_an_evaluated_request(tiny_folder, task, production, tmp_path, monkeypatch):
    monkeypatch.setenv(KEY_ENV, SECRET)
    tiny_project_params(tmp_path, prepare={"handoffs": "handoffs"})
    preset = load_params(tmp_path / "params.yaml").prepare
    generated = task.generate(preset)
    hard = production
    evaluated = generated["test"][0]  # a production request that is also a test one: never trained on
    predictor = load_predictor(tiny_folder, task, max_new_tokens=8)
    log = tmp_path / "handoffs" / "handoffs.jsonl"
    serve_with_fallback(predictor, task, FaultServer(task), log, [hard[0], hard[1]])
    serve_with_fallback(predictor, task, FaultServer(task, faults={i: "server_error" for i in range(100)}), log, [hard[2], hard[0], evaluated])
    logged = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(logged) == 5 and logged[0]["teacher"]["answer"] and logged[2]["teacher"] is None and logged[2]["error"]
    assert SECRET not in log.read_text()

    result = prepare(tmp_path)
    assert result.returncode == 0, result.stderr
    assert "train has 3 of 5 logged hand-offs" in result.stdout
    train = read_jsonl(tmp_path / "data/task/train.jsonl")
    assert train[: len(generated["train"])] == generated["train"], "the generated train split is unchanged, the hand-offs follow it"
    added = from_production(tmp_path)
    assert [(e["input"], e["context"]) for e in added] == [(h["input"], h["context"]) for h in hard], "the teacher failing on one does not matter"
    assert [e["id"] for e in added] == ["handoff-00000", "handoff-00001", "handoff-00002"]
    assert all(e["category"] == "handoff" and "gold" not in e for e in added), "unlabeled: teach asks the teacher again"
    assert [e["meta"]["source"] for e in added] == [f"{log.relative_to(tmp_path)}:{n}" for n in (1, 2, 3)]
    for split in ("dev", "test", "handwritten"):
        assert not [e for e in read_jsonl(tmp_path / f"data/task/{split}.jsonl") if e["category"] == "handoff"]
    metrics = json.loads((tmp_path / "metrics/prepare.json").read_text())
    assert metrics["train_examples"] == len(generated["train"]) + 3 and metrics["train_handoff"] == 3
    assert {k: v for k, v in metrics.items() if k.startswith("handoffs_")} == {
        "handoffs_read": 5, "handoffs_duplicates": 1, "handoffs_held_out": 1, "handoffs_added": 3,
    }


@pytest.mark.timeout(600)
def test_a_custom_features_hand_offs_keep_their_tools(tiny_folder, tmp_path, monkeypatch):
    """The CRM feature varies its tool sets: a hand-off's tools travel into the log and into
    train; a row without them (an older log) gets the feature's own."""
    monkeypatch.setenv(KEY_ENV, SECRET)
    copy_feature(tmp_path)
    settings = {"tools": str(FEATURE / "tools.json"), "requests": str(FEATURE / "requests.jsonl"), "helpers": []}
    tiny_project_params(tmp_path, prepare={"task": "custom", "handoffs": "handoffs/handoffs.jsonl"}, custom=settings, teach={"backend": "replay"})
    task = get_task("custom", crm_settings(**{k: str(tmp_path / v) if k != "helpers" else v for k, v in settings.items()}))
    tools = json.loads((tmp_path / FEATURE / "tools.json").read_text())
    context = {"today": "2026-06-01", "contacts": [{"id": "c9", "name": "Zoe Park", "company": "Arcadia"}], "deals": []}
    hard = {"input": "had a 5 minute call with Zoe, she picked up", "context": context, "tools": tools[:2]}
    gold = [{"name": "log_call", "arguments": {"contact_id": "c9", "outcome": "connected", "minutes": 5}}]
    teacher = FaultServer(task, backend=ReplayBackend(task, [{**hard, "gold": gold}]))
    log = tmp_path / "handoffs" / "handoffs.jsonl"
    serve_with_fallback(load_predictor(tiny_folder, task, max_new_tokens=8), task, teacher, log, [hard])
    [row] = [json.loads(line) for line in log.read_text().splitlines()]
    assert row["tools"] == tools[:2] and row["teacher"]["answer"] == gold and row["error"] is None
    with log.open("a") as handle:  # a row from before hand-offs logged their tools
        handle.write(json.dumps({"input": "Ana wants a call back", "context": context, "tiny": None, "teacher": None, "threshold": 0.5, "error": "x"}) + "\n")

    result = prepare(tmp_path)
    assert result.returncode == 0, result.stderr
    added = from_production(tmp_path)
    assert [(e["input"], e["context"], e["tools"]) for e in added] == [(hard["input"], context, tools[:2]), ("Ana wants a call back", context, tools)]
    assert json.loads((tmp_path / "metrics/prepare.json").read_text())["handoffs_added"] == 2


def smart_home_row(production, **changes) -> dict:
    example = production[0]
    row = {"time": "2026-11-27T00:00:00Z", "input": example["input"], "context": example["context"], "tiny": None,
           "teacher": None, "threshold": 0.5, "error": None}
    return {key: value for key, value in {**row, **changes}.items() if value is not ...}


@pytest.mark.parametrize("line, problem", [
    ('{"input": "turn it off", "context": {"home"', "invalid JSON"),  # a log cut mid-line
    ("[1, 2]", "expected a JSON object"),
    (dict(context=...), "missing key 'context'"),
    (dict(input="  "), "input must be the user's message"),
    (dict(messages=[]), "unknown field 'messages': not a hand-off log row"),  # a requests file given by mistake
    (dict(context={"rooms": []}), "context: context must be an object with a string 'home'"),
])
def test_a_bad_log_row_is_one_line_naming_the_file_and_line(task, production, tmp_path, line, problem):
    log = tmp_path / "handoffs.jsonl"
    good = json.dumps(smart_home_row(production))
    log.write_text(f"{good}\n\n{line if isinstance(line, str) else json.dumps(smart_home_row(production, **line))}\n")
    with pytest.raises(SupertinyError) as error:
        read_handoffs(log, task)
    message = str(error.value)
    assert message.startswith(f"{log}:3: ") and problem in message and "\n" not in message


def test_the_prepare_stage_stops_in_one_line_before_writing_anything(production, tmp_path):
    tiny_project_params(tmp_path, prepare={"handoffs": "logs"})
    result = prepare(tmp_path)
    assert result.returncode == 2 and result.stderr == "supertiny: error: params.yaml: prepare.handoffs: logs: no such file or folder\n"
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "handoffs.jsonl.1").write_text(json.dumps(smart_home_row(production)) + "\n")  # rotated: read first
    (tmp_path / "logs" / "handoffs.jsonl").write_text(json.dumps(smart_home_row(production, tools=[{"type": "function"}])) + "\n")
    result = prepare(tmp_path)
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("supertiny: error: logs/handoffs.jsonl:1: tools[0]: ")
    assert not (tmp_path / "data").exists() and not (tmp_path / "metrics").exists()


@pytest.mark.timeout(600)
def test_dvc_reruns_prepare_when_a_hand_off_log_changes(production, tmp_path):
    root = tmp_path / "project"
    root.mkdir()
    tiny_project(root)
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["prepare"]["handoffs"] = "handoffs"
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    (root / "handoffs").mkdir()
    log = root / "handoffs" / "handoffs.jsonl"
    log.write_text(json.dumps(smart_home_row(production, input="dim the lights please, production")) + "\n")
    git_commit(root, "train on the hand-offs")
    run(["dvc", "repro", "prepare"], root)
    assert len(from_production(root)) == 1
    assert json.loads(run(["dvc", "status", "--json", "prepare"], root).stdout) == {}
    with log.open("a") as handle:
        handle.write(json.dumps(smart_home_row(production, input="and the heating off, production")) + "\n")
    status = json.loads(run(["dvc", "status", "--json", "prepare"], root).stdout)
    assert status["prepare"] == [{"changed deps": {"handoffs": "modified"}}], status
    run(["dvc", "repro", "prepare"], root)
    assert len(from_production(root)) == 2
