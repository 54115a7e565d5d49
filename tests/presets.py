"""The params the tests run with: the shipped params.yaml, and the `tiny` preset as an
override of it (tests/tiny.yaml), never a copy, so neither can drift from the code."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import yaml

from supertiny.params import Params, load_params

ROOT = Path(__file__).resolve().parents[1]
TINY_OVERRIDES = Path(__file__).with_name("tiny.yaml")


def shipped() -> Params:
    return load_params(ROOT / "params.yaml")


def merged(base: dict, overrides: dict) -> dict:
    """`base` with `overrides` laid over it, section by section, key by key."""
    result = dict(base)
    for key, value in overrides.items():
        result[key] = merged(base.get(key, {}), value) if isinstance(value, dict) else value
    return result


def write_tiny_params(path: Path) -> None:
    """Turn the params.yaml at `path` into the tiny preset."""
    params = merged(yaml.safe_load(path.read_text()), yaml.safe_load(TINY_OVERRIDES.read_text()))
    path.write_text(yaml.safe_dump(params, sort_keys=False))


def training(**overrides):
    """The shipped SFT settings with `overrides`, for tests that train a tiny model."""
    return dataclasses.replace(shipped().sft, **overrides)


def train_settings(**overrides):
    """The shipped `train` section (device auto, one process) with `overrides`."""
    return dataclasses.replace(shipped().train, **overrides)


def tiny_student_params():
    return dataclasses.replace(shipped().student, model="tiny")


def drawing(seed: int, sizes: dict[str, int] | None = None, typo_rate: float = 0.0, train_requests_per_home: int = 1,
            train_opposite_power_share: float = 0.0):
    """The shipped `prepare` section drawing `sizes` (train/dev/test; tasks that read their
    requests from files ignore them) with `seed`, for tests that call `Task.generate`."""
    sizes = sizes or {}
    return dataclasses.replace(
        shipped().prepare, seed=seed, typo_rate=typo_rate, train_requests_per_home=train_requests_per_home,
        train_opposite_power_share=train_opposite_power_share,
        train_size=sizes.get("train", 1), dev_size=sizes.get("dev", 1), test_size=sizes.get("test", 1),
    )
