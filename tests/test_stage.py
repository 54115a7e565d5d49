"""Every stage ends with one summary line, or one error line and exit code 2."""

from __future__ import annotations

import sys

import pytest

from supertiny.errors import SupertinyError
from supertiny.stage import stage_main


def test_a_stage_prints_its_summary_with_its_name_and_time(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["stages/sft.py"])
    stage_main(lambda: "models/sft: 80 steps, final loss 0.05")()
    assert capsys.readouterr().out == "sft: models/sft: 80 steps, final loss 0.05 [0 s]\n"


def test_a_user_error_is_one_line_and_exit_code_2(monkeypatch, capsys):
    def broken() -> str:
        raise SupertinyError("params.yaml: sft.max_stepz is not a key (did you mean max_steps?)")

    monkeypatch.setattr(sys, "argv", ["stages/sft.py"])
    with pytest.raises(SystemExit) as exit_info:
        stage_main(broken)()
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert captured.err == "supertiny: error: params.yaml: sft.max_stepz is not a key (did you mean max_steps?)\n"
    assert captured.out == ""
