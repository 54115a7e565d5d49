"""params.yaml validation: every mistake is one line naming the key, before any work."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from supertiny.errors import SupertinyError
from supertiny.params import Params, load_params

ROOT = Path(__file__).resolve().parents[1]


def write(tmp_path, data) -> Path:
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_the_committed_params_are_valid_and_match_the_defaults():
    params = load_params(ROOT / "params.yaml")
    assert isinstance(params, Params)
    assert params.student.model == "smollm2-135m"
    assert isinstance(params.sft.learning_rate, float) and 0 < params.sft.learning_rate < 1e-2


@pytest.mark.parametrize(
    "data, message",
    [
        ({"sft": {"lerning_rate": 0.1}}, "unknown key 'sft.lerning_rate' (did you mean 'learning_rate'?)"),
        ({"sfft": {}}, "unknown key 'sfft' (did you mean 'sft'?)"),
        ({"student": {"tiny": {"hidden": 3}}}, "unknown key 'student.tiny.hidden'"),
        ({"sft": {"max_steps": "many"}}, "sft.max_steps must be int; got 'many'"),
        ({"sft": {"max_steps": 0}}, "sft.max_steps must be >= 1"),
        ({"teach": {"backend": "gpt"}}, "teach.backend must be one of reference, openai; got 'gpt'"),
        ({"judge": {"require_grounded_devices": "yes"}}, "judge.require_grounded_devices must be bool"),
        ({"student": {"tiny": {"num_attention_heads": 3, "num_key_value_heads": 2}}}, "multiple of num_key_value_heads"),
    ],
)
def test_mistakes_are_reported_by_key(tmp_path, data, message):
    with pytest.raises(SupertinyError) as raised:
        load_params(write(tmp_path, data))
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_yaml_1_1_floats_and_nulls_are_accepted(tmp_path):
    params = load_params(write(tmp_path, {"sft": {"learning_rate": "2e-4", "max_examples": None}}))
    assert params.sft.learning_rate == pytest.approx(2e-4)
    assert params.sft.max_examples is None


def test_broken_yaml_names_the_line(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("sft:\n  max_steps: [1\n")
    with pytest.raises(SupertinyError, match=r"params.yaml:\d+: invalid YAML"):
        load_params(path)


def test_a_stage_with_an_unknown_param_fails_in_one_line_before_writing(tmp_path):
    write(tmp_path, {"prepare": {"train_size": 10}, "sft": {"lerning_rate": 0.1}})
    result = subprocess.run(
        [sys.executable, str(ROOT / "stages" / "prepare.py")], cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "unknown key 'sft.lerning_rate'" in result.stderr
    assert not (tmp_path / "data").exists()
