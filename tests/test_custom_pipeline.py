"""A user's own feature through the whole DVC graph: the CRM test feature (tests/features/crm:
four tools, requests that vary their tool sets, helpers) on the tiny preset, taught by the
real `openai` backend against a loopback OpenAI-compatible server that replays the gold
answers; then `supertiny serve` answering the feature's client; then the same project
switched to the built-in task and back.

One project for all of it (a graph build is minutes on 2 cores): the tests run in order.
"""

from __future__ import annotations

import json
import re
import shutil
import sys

import httpx
import openai
import pytest
import yaml
from custom_feature import FEATURE, SETTINGS, copy_feature, crm_settings
from dvc_project import git_commit, run, tiny_project
from fault_server import FaultServer
from presets import drawing, merged
from servers import free_port, subprocess_server, threaded_server

from supertiny.jsonl import read_jsonl
from supertiny.tasks import get_task
from supertiny.teacher.replay import ReplayBackend

KEY_ENV = "SUPERTINY_TEST_TEACHER_KEY"
ENV = {KEY_ENV: "test-key"}
pytestmark = pytest.mark.slow


def crm_params(smart_home: str, url: str) -> str:
    """The project's tiny params with the CRM feature as its task and the replaying server as its teacher."""
    params = merged(yaml.safe_load(smart_home), {
        "prepare": {"task": "custom"},
        "custom": SETTINGS,
        "teach": {"backend": "openai", "model": "gold-replay", "base_url": f"{url}/v1", "api_key_env": KEY_ENV,
                  "samples": 2, "temperature": 0.7, "timeout_s": 10.0},
        "judge": {"llm_judge": True},  # graded through the same endpoint
    })
    return yaml.safe_dump(params, sort_keys=False)


@pytest.fixture(scope="module")
def crm_project(tmp_path_factory):
    root = tmp_path_factory.mktemp("crm") / "project"
    root.mkdir()
    tiny_project(root)
    copy_feature(root)
    smart_home = (root / "params.yaml").read_text()
    task = get_task("custom", crm_settings(tools=str(root / FEATURE / "tools.json"), requests=str(root / FEATURE / "requests.jsonl"), helpers=[]))
    examples = [row for split in task.generate(drawing(0)).values() for row in split]  # every request, whatever its split
    server = FaultServer(task, backend=ReplayBackend(task, examples), judge_score=lambda text: 5)
    with threaded_server(server.app) as url:
        (root / "params.yaml").write_text(crm_params(smart_home, url))
        git_commit(root, "the CRM feature")
        run(["dvc", "repro"], root, env=ENV)
        shutil.copy(root / "dvc.lock", root.parent / "dvc.lock.crm")
        yield root, server, smart_home


def metrics(root, name: str) -> dict:
    return json.loads((root / "metrics" / f"{name}.json").read_text())


def test_the_crm_feature_runs_the_whole_graph(crm_project):
    root, server, _ = crm_project
    assert metrics(root, "prepare") == {
        "train_examples": 23, "train_multiple": 2, "train_reply": 2, "train_simple": 16, "train_unlabeled": 3,
        "dev_examples": 7, "dev_simple": 7, "test_examples": 7, "test_multiple": 1, "test_reply": 3, "test_simple": 3,
    }
    teach = metrics(root, "teach")
    assert teach["backend"] == "openai" and teach["dev_exact_match"] == 1.0 and teach["mean_agreement"] == 1.0
    assert teach["requests_sent"] == 2 * (23 + 7) and teach["cost_usd"] > 0
    judge = metrics(root, "judge")
    assert judge == {**judge, "traces": 23, "accepted": 20, "rejected_empty_reply": 3, "llm_judge_requests_sent": 20}
    accepted = read_jsonl(root / "data/judged/accepted.jsonl")
    assert all(row["tools"] and row["samples"] == 2 for row in accepted), "each trace carries its request's tools"
    assert metrics(root, "eval/teacher")["exact_match"] == 1.0
    for name in ("base", "sft", "rft", "distill", "rl", "pruned", "deployed"):
        assert metrics(root, f"eval/{name}")["examples"] == 7, name
    assert json.loads((root / "models/deployed/card.json").read_text())["kind"] == "ort-genai"
    assert "| deployed |" in (root / "reports/report.md").read_text()
    assert server.requests() == teach["requests_sent"] + judge["llm_judge_requests_sent"] + 7, "evaluate@teacher asked too"


def test_serve_answers_the_features_own_client(crm_project, tmp_path):
    root, _, _ = crm_project
    port = free_port()
    command = [sys.executable, "-m", "supertiny.cli", "serve", "models/sft", "--port", str(port), "--threads", "1"]
    request = json.loads((root / FEATURE / "requests.jsonl").read_text().splitlines()[8])  # its own tools: log_call, create_task
    with subprocess_server(command, port, "/health", tmp_path / "serve.log", cwd=root):
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="unused", max_retries=0)
        response = client.chat.completions.create(
            model="sft", messages=[{"role": "user", "content": request["input"]}], tools=request["tools"], max_tokens=16,
            extra_body={"context": request["context"]},
        )
        assert response.choices[0].finish_reason in ("tool_calls", "stop", "length") and response.usage.prompt_tokens > 150
        with pytest.raises(openai.BadRequestError, match="send them as `tools`"):
            client.chat.completions.create(model="sft", messages=[{"role": "user", "content": request["input"]}])
        assert httpx.get(f"http://127.0.0.1:{port}/health").json()["status"] == "ok"


def test_switching_to_the_built_in_task_and_back(crm_project):
    """The built-in task reruns the graph from `prepare` (its first three stages are enough to
    show it: everything after follows from their outputs, as test_pipeline shows on the built-in
    task); going back to the feature restores them from DVC's run-cache, paying the teacher nothing."""
    root, server, smart_home = crm_project
    crm = (root / "params.yaml").read_text()
    (root / "params.yaml").write_text(smart_home)
    ran = set(re.findall(r"Running stage '([^']+)'", run(["dvc", "repro", "judge"], root, env=ENV).stdout))
    assert ran == {"prepare", "teach", "judge"}
    assert metrics(root, "prepare")["train_examples"] == 60 and metrics(root, "teach")["backend"] == "reference"

    sent = server.requests()
    (root / "params.yaml").write_text(crm)
    again = run(["dvc", "repro"], root, env=ENV).stdout
    assert not re.findall(r"Running stage '([^']+)'", again) and server.requests() == sent
    before = yaml.safe_load((root.parent / "dvc.lock.crm").read_text())
    assert yaml.safe_load((root / "dvc.lock").read_text()) == before
