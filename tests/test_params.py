"""params.yaml: the one place every value lives; every mistake is one line naming the key, before any work."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import typing
from pathlib import Path

import pytest
import yaml

from presets import TINY_OVERRIDES, merged
from supertiny.errors import SupertinyError
from supertiny.params import CkdParams, Params, TeachParams, TrainingParams, load_params, section_from_dict

ROOT = Path(__file__).resolve().parents[1]


def write(tmp_path, changes: dict, drop: tuple[str, ...] = ()) -> Path:
    """The shipped params.yaml with `changes` laid over it and the dotted keys in `drop` removed."""
    data = merged(yaml.safe_load((ROOT / "params.yaml").read_text()), changes)
    for dotted in drop:
        *sections, key = dotted.split(".")
        target = data
        for section in sections:
            target = target[section]
        del target[key]
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def defaults_in_code(cls) -> list[str]:
    """Fields of a params type (and of the types nested in it) that carry a default in code."""
    found = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING:
            found.append(f"{cls.__name__}.{f.name}")
        if dataclasses.is_dataclass(hints[f.name]):
            found += defaults_in_code(hints[f.name])
    return found


def test_params_yaml_is_the_one_place_a_value_lives():
    """No params type has a default of its own; the committed file sets every key, and the
    tiny preset only overrides keys that exist there."""
    assert defaults_in_code(Params) == []
    params = load_params(ROOT / "params.yaml")
    assert isinstance(params, Params) and params.student.model == "smollm2-135m"
    shipped = yaml.safe_load((ROOT / "params.yaml").read_text())
    for section, values in yaml.safe_load(TINY_OVERRIDES.read_text()).items():
        assert set(values) <= set(shipped[section]), f"tests/tiny.yaml: {section} has keys params.yaml lacks"


def test_the_fine_tuning_stages_share_one_settings_type():
    params = load_params(ROOT / "params.yaml")
    for section in (params.sft, params.rft, params.distill, params.prune):
        assert isinstance(section, TrainingParams)
    for section in (params.distill, params.prune):
        assert isinstance(section, CkdParams)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"sft": {"lerning_rate": 0.1}}, "unknown key 'sft.lerning_rate' (did you mean 'learning_rate'?)"),
        ({"sfft": {}}, "unknown key 'sfft' (did you mean 'sft'?)"),
        ({"student": {"tiny": {"hidden": 3}}}, "unknown key 'student.tiny.hidden'"),
        ({"sft": {"max_steps": "many"}}, "sft.max_steps must be int; got 'many'"),
        ({"sft": {"max_steps": 0}}, "sft.max_steps must be >= 1"),
        ({"sft": {"neftune_noise_alpha": 0}}, "sft.neftune_noise_alpha must be > 0 or null"),
        ({"sft": {"turns_per_sequence": 0}}, "sft.turns_per_sequence must be >= 1"),
        ({"prepare": {"train_requests_per_home": 0}}, "prepare.train_requests_per_home must be >= 1"),
        ({"prepare": {"train_opposite_power_share": 1.5}}, "prepare.train_opposite_power_share must be within [0, 1]"),
        ({"teach": {"backend": "gpt"}}, "teach.backend must be one of reference, openai, replay; got 'gpt'"),
        ({"prepare": {"task": "smart-home"}}, "prepare.task must be one of smart_home, custom, bfcl; got 'smart-home'"),
        ({"custom": {"helpers": "lookups:find"}}, "custom.helpers must be a list; got 'lookups:find'"),
        ({"custom": {"helpers": ["lookups.find"]}}, "custom.helpers entry 'lookups.find' must be module:function"),
        ({"custom": {"dev_fraction": 0}}, "custom.dev_fraction must be within (0, 1)"),
        ({"custom": {"dev_fraction": 0.5, "test_fraction": 0.5}}, "custom.test_fraction plus dev_fraction must be below 1"),
        ({"custom": {"requests": " "}}, "custom.requests must name a file"),
        ({"prepare": {"task": "custom"}, "teach": {"backend": "reference"}}, "teach.backend reference is smart_home's rule agent"),
        ({"teach": {"backend": "replay"}}, "teach.backend replay answers with the requests' gold answers, which only prepare.task custom or bfcl has"),
        ({"prepare": {"task": "bfcl"}, "teach": {"backend": "reference"}}, "teach.backend reference is smart_home's rule agent; bfcl needs openai"),
        ({"bfcl": {"test_per_category": 0}}, "bfcl.test_per_category must be >= 1 or null"),
        ({"bfcl": {"dev_fraction": 1}}, "bfcl.dev_fraction must be within (0, 1)"),
        ({"bfcl": {"train_composed": -1}}, "bfcl.train_composed must be >= 0"),
        ({"bfcl": {"train_irrelevance": -5}}, "bfcl.train_irrelevance must be >= 0 or null"),
        ({"judge": {"require_grounded_devices": "yes"}}, "judge.require_grounded_devices must be bool"),
        ({"student": {"tiny": {"num_attention_heads": 3, "num_key_value_heads": 2}}}, "student.tiny.num_attention_heads must be a multiple of num_key_value_heads"),
        ({"rft": {"learning_rate": 2}}, "rft.learning_rate must be within (0, 1)"),
        ({"prune": {"max_steps": -1}}, "prune.max_steps must be >= 0"),
        ({"distill": {"hard_label_weight": -1}}, "distill.hard_label_weight must be >= 0"),
        ({"generation": {"max_new_tokens": 2}}, "generation.max_new_tokens must be >= 8"),
        ({"teach": {"max_tokens": 0}}, "teach.max_tokens must be within [1, 131072]"),
        ({"teach": {"timeout_s": float("inf")}}, "teach.timeout_s must be > 0 and <= 3600"),
        ({"teach": {"timeout_s": float("nan")}}, "teach.timeout_s must be > 0 and <= 3600"),
        ({"teach": {"backoff_max_s": 1e9}}, "teach.backoff_max_s must be <= 3600"),
        ({"teach": {"cache_dir": "  "}}, "teach.cache_dir must be a folder, or null for no cache"),
        ({"teach": {"price_input_per_mtok": -1}}, "teach.price_input_per_mtok must be >= 0 and finite"),
        ({"teach": {"price_output_per_mtok": float("inf")}}, "teach.price_output_per_mtok must be >= 0 and finite"),
        ({"teach": {"requests_per_minute": 0}}, "teach.requests_per_minute must be > 0 and finite, or null for no cap"),
        ({"teach": {"tokens_per_minute": -5}}, "teach.tokens_per_minute must be > 0 and finite, or null for no cap"),
        ({"teach": {"tokens_per_minute": "lots"}}, "teach.tokens_per_minute must be float; got 'lots'"),
        ({"teach": {"batch": "yes"}}, "teach.batch must be bool"),
        ({"teach": {"batch_poll_s": 0}}, "teach.batch_poll_s must be > 0 and <= 3600"),
        ({"judge": {"max_calls": 0}}, "judge.max_calls must be >= 1"),
        ({"evaluate": {"held_out_skip": ["base", "student"]}}, "evaluate.held_out_skip unknown model(s) student: choose from teacher, base"),
        ({"train": {"device": "gpu"}}, "train.device must be one of auto, cpu, cuda; got 'gpu'"),
        ({"train": {"processes": 0}}, "train.processes must be within [1, 1024]"),
        ({"train": {"processes": 3}}, "sft.batch_size must be a multiple of train.processes (3)"),
        ({"train": {"processes": 8}, "sft": {"batch_size": 8}, "rft": {"batch_size": 8}, "distill": {"batch_size": 8}, "prune": {"batch_size": 8},
          "rl": {"prompts_per_step": 1, "group_size": 4}}, "rl.prompts_per_step x rl.group_size must be a multiple of train.processes (8)"),
        ({"judge": {"max_reply_chars": 0}}, "judge.max_reply_chars must be >= 1"),
        ({"report": {"title": "x" * 100_000}}, ""),  # a long value is fine where valid
        ({"sft": {"max_steps": "y" * 100_000}}, "sft.max_steps must be int; got 'yyyy"),  # and cut short in the error
    ],
)
def test_mistakes_are_reported_by_key(tmp_path, changes, message):
    if not message:
        load_params(write(tmp_path, changes))
        return
    with pytest.raises(SupertinyError) as raised:
        load_params(write(tmp_path, changes))
    assert message in str(raised.value)
    assert "\n" not in str(raised.value) and len(str(raised.value)) < 300


def test_a_key_set_twice_is_an_error_naming_its_line(tmp_path):
    path = tmp_path / "params.yaml"
    text = (ROOT / "params.yaml").read_text()
    path.write_text(text.replace("sft:\n", "sft:\n  max_steps: 5\n", 1))
    line = text[: text.index("sft:\n")].count("\n") + 3  # the second time: the shipped max_steps, after the inserted one
    with pytest.raises(SupertinyError, match=rf"params.yaml:{line}: invalid YAML \(key 'max_steps' is set twice\)"):
        load_params(path)


def test_an_alias_bomb_is_refused_in_one_short_line(tmp_path):
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n" for p, c in zip("abcdefgh", "bcdefghi"))
    path = tmp_path / "params.yaml"
    path.write_text(bomb + (ROOT / "params.yaml").read_text())
    with pytest.raises(SupertinyError) as raised:
        load_params(path)
    assert "aliases (*name) are not allowed" in str(raised.value) and len(str(raised.value)) < 200


def test_a_missing_key_is_an_error_not_a_silent_default(tmp_path):
    with pytest.raises(SupertinyError, match="missing key 'rft.grad_accum'"):
        load_params(write(tmp_path, {}, drop=("rft.grad_accum",)))
    with pytest.raises(SupertinyError, match="missing key 'generation'"):
        load_params(write(tmp_path, {}, drop=("generation",)))


def test_a_recorded_section_is_validated_like_the_file():
    teach = dataclasses.asdict(load_params(ROOT / "params.yaml").teach)
    assert section_from_dict(TeachParams, teach, "models/teacher/card.json").model == teach["model"]
    with pytest.raises(SupertinyError, match="models/teacher/card.json: max_turns must be >= 1"):
        section_from_dict(TeachParams, {**teach, "max_turns": 0}, "models/teacher/card.json")


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
