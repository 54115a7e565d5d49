"""The `supertiny` command: predictions from a model folder, and params validation."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from supertiny.cli import main
from supertiny.jsonl import write_jsonl
from supertiny.modelcard import write_card
from supertiny.params import as_dict, load_params

ROOT = Path(__file__).resolve().parents[1]


def test_predict_prints_one_answer_per_request(tmp_path, splits, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copy(ROOT / "params.yaml", "params.yaml")
    write_card("teacher", kind="teacher", stage="teach", inputs={}, params=as_dict(load_params().teach))
    requests = [{"id": e["id"], "input": e["input"], "context": e["context"]} for e in splits["test"][:5]]
    write_jsonl("requests.jsonl", requests)
    main(["predict", "teacher", "requests.jsonl"])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["id"] for line in lines] == [e["id"] for e in splits["test"][:5]]
    for line, example in zip(lines, splits["test"][:5]):
        assert line["answer"] is not None
        if example["category"] != "irrelevance":
            assert {c["name"] for c in line["answer"]} == {c["name"] for c in example["gold"]}


def test_check_params_rejects_an_unknown_key_in_one_line(tmp_path, capsys):
    bad = tmp_path / "params.yaml"
    bad.write_text((ROOT / "params.yaml").read_text().replace("max_steps:", "max_stepz:", 1))
    with pytest.raises(SystemExit) as exit_info:
        main(["check-params", str(bad)])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and "max_stepz" in error and "max_steps" in error
    main(["check-params", str(ROOT / "params.yaml")])
    assert capsys.readouterr().out.strip().endswith(": ok")
