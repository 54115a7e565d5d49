"""Malformed inputs: a one-line error naming file and line, and nothing produced is lost."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from supertiny.errors import SupertinyError
from supertiny.jsonl import read_jsonl, write_jsonl

ROOT = Path(__file__).resolve().parents[1]


def test_read_jsonl_names_the_bad_line(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text('{"id": 1}\n\n{"id": 2,\n')
    with pytest.raises(SupertinyError, match=r"x.jsonl:3: invalid JSON"):
        read_jsonl(path)
    path.write_text('{"id": 1}\n[1, 2]\n')
    with pytest.raises(SupertinyError, match=r"x.jsonl:2: expected a JSON object, got list"):
        read_jsonl(path)
    path.write_text('{"id": 1}\n{"input": "x"}\n')
    with pytest.raises(SupertinyError, match=r"x.jsonl:1: missing key 'input'"):
        read_jsonl(path, required=("input",))


def test_write_jsonl_replaces_atomically(tmp_path):
    path = tmp_path / "out" / "x.jsonl"
    write_jsonl(path, [{"a": 1}])
    write_jsonl(path, [{"a": 2}, {"a": 3}])
    assert read_jsonl(path) == [{"a": 2}, {"a": 3}]
    assert [p.name for p in path.parent.iterdir()] == ["x.jsonl"], "no temporary file left behind"


def test_judge_stage_on_a_corrupt_trace_file_keeps_its_previous_outputs(tmp_path, task, splits):
    shutil.copy(ROOT / "params.yaml", tmp_path / "params.yaml")
    traces = tmp_path / "data" / "traces" / "train.jsonl"
    traces.parent.mkdir(parents=True)
    complete = {"id": "a", "context": {}, "messages": [], "final": "ok", "status": "ok"}
    traces.write_text(json.dumps(complete) + "\n" + '{"id": "b", "messages": [}\n')
    accepted = tmp_path / "data" / "judged" / "accepted.jsonl"
    accepted.parent.mkdir(parents=True)
    accepted.write_text('{"kept": true}\n')
    result = subprocess.run([sys.executable, str(ROOT / "stages" / "judge.py")], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.strip().startswith("supertiny: error: data/traces/train.jsonl:2: invalid JSON")
    assert result.stderr.strip().count("\n") == 0
    assert accepted.read_text() == '{"kept": true}\n'
