"""Shared fixtures: the built-in task, small generated splits, a tiny student."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("DVC_NO_ANALYTICS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def task():
    from supertiny.tasks import get_task

    return get_task("smart_home")


@pytest.fixture(scope="session")
def splits(task):
    return task.generate(seed=7, sizes={"train": 400, "dev": 120, "test": 150}, typo_rate=0.06)


@pytest.fixture(scope="session")
def tiny_student():
    """(model, tokenizer) of the `tiny` preset: SmolLM2's tokenizer, a 2-layer random model."""
    from supertiny.params import StudentParams
    from supertiny.train.student import load_base_student

    model, tokenizer, _ = load_base_student(StudentParams(model="tiny"))
    return model, tokenizer
