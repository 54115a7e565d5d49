"""A training stage switched off (0 steps) hands its input model on unchanged.

The graph keeps its shape whatever the params: every later stage reads the folder it always
reads, and DVC still sees a change upstream as a change of that folder (the copy has the
input's bytes, which DVC's content-addressed cache stores once). The card says which model
it is the same as, so evaluation does not score the same weights twice.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from supertiny.jsonl import write_json
from supertiny.modelcard import CARD_FILE, read_card, write_card


def pass_through(source: str, out: str, stage: str, reason: str, params: dict) -> str:
    """Copy `source`'s model files to `out` with a card naming the source; writes the stage's
    skipped metrics and empty curve. Returns the stage's one-line summary."""
    out_path = Path(out)
    shutil.rmtree(out_path, ignore_errors=True)
    shutil.copytree(source, out_path, ignore=shutil.ignore_patterns(CARD_FILE))
    card = read_card(source)
    write_card(out_path, kind="hf", stage=stage, inputs={"model": source}, params=params,
               parameters=card.get("parameters"), same_as=same_as(source), reason=reason)
    write_json(f"metrics/{stage}.json", {"skipped": True, "same_as": same_as(source), "reason": reason})
    write_json(f"metrics/train/{stage}.json", [])
    return f"{out}: skipped ({reason}), the same model as {same_as(source)}"


def same_as(folder: str) -> str:
    """The folder whose weights `folder` has: itself, or what it passes through."""
    return read_card(folder).get("same_as") or folder
