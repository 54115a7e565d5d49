"""The test feature (tests/features/crm): a small CRM whose requests vary their tool sets, in
the `input` + `context` form with JSON contexts, with helper lookups; and params that point
a project's `custom` section at it."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

from presets import shipped

ROOT = Path(__file__).resolve().parents[1]
FEATURE = Path("tests/features/crm")  # relative to the project root, as params.yaml names it
HELPERS = ["tests.features.crm.helpers:find_contact", "tests.features.crm.helpers:get_deal"]
SETTINGS = {"tools": str(FEATURE / "tools.json"), "requests": str(FEATURE / "requests.jsonl"), "helpers": HELPERS}


def crm_settings(**changes):
    """The shipped `custom` section pointed at the CRM feature (paths relative to the repository root)."""
    return dataclasses.replace(shipped().custom, **{**SETTINGS, **changes})


def copy_feature(root: Path) -> None:
    """Put the CRM feature's files at the same place in another project."""
    shutil.copytree(ROOT / FEATURE, root / FEATURE, ignore=shutil.ignore_patterns("__pycache__"))
