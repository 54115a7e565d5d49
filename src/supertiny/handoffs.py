"""The hand-off log of `supertiny serve --fallback` as training data for the next round.

Every request the deployed model was unsure of is a row of the log (`handoff_row`): the
request as the model saw it (`input`, `context`, and `tools` where the task's requests bring
their own), both answers, the threshold and any error; never a key or a header. `prepare`
reads the logs `prepare.handoffs` names (a log, or a folder of logs with their rotated
files) and adds each distinct request to train, marked `category: handoff` and
`meta.origin: handoff`, never to dev, test or a hand-written set.

The rows join train as unlabeled inputs, like every train input: `teach` asks the teacher
again and the judge checks its whole tool loop, helper lookups included. The logged
teacher answer is not used as a label: the log keeps only the final answer (the judge's
grounding rules need the lookups), a failed hand-off has none, and the teacher settings may
have changed since (the response cache makes a rerun free).
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

from supertiny.errors import SupertinyError
from supertiny.jsonl import iter_numbered_jsonl
from supertiny.tool_schemas import tools_problem
from supertiny.utterances import normal_text

ORIGIN = "handoff"
LOG_KEYS = ("time", "input", "context", "tools", "tiny", "teacher", "threshold", "error")
ROTATED = re.compile(r"(?P<base>.+\.jsonl)(?:\.(?P<number>\d+))?")  # logging's RotatingFileHandler: log.jsonl, log.jsonl.1, ...


def handoff_row(example: dict, tiny, teacher, threshold: float, error: str | None) -> dict:
    """One line of the log: the request as the model saw it, both answers, why the teacher failed."""
    return {
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "input": example["input"],
        "context": example["context"],
        **({"tools": example["tools"]} if "tools" in example else {}),
        "tiny": {"answer": tiny.answer, "text": tiny.text, "confidence": tiny.confidence},
        "teacher": {"answer": teacher.answer} if teacher and not error else None,
        "threshold": threshold,
        "error": error,
    }


def log_files(path: str | Path) -> list[Path]:
    """The logs at `path` (a file, or a folder's `*.jsonl` files and their rotated copies),
    oldest first; other files in a folder (a README) are not logs."""
    path = Path(path)
    if not path.exists():
        raise SupertinyError(f"params.yaml: prepare.handoffs: {path}: no such file or folder")
    if path.is_file():
        return [path]
    logs = [(match, p) for p in path.iterdir() if p.is_file() and (match := ROTATED.fullmatch(p.name))]
    return [p for match, p in sorted(logs, key=lambda m: (m[0]["base"], -int(m[0]["number"] or 0)))]


def read_handoffs(path: str | Path, task) -> list[dict]:
    """Every logged request as a train example, checked; a SupertinyError naming file:line at the first bad row."""
    examples = []
    for file in log_files(path):
        for number, row in iter_numbered_jsonl(file, required=("input", "context")):
            try:
                examples.append(_example(row, task, f"{file}:{number}"))
            except ValueError as error:
                raise SupertinyError(f"{file}:{number}: {error}") from None
    return examples


def _example(row: dict, task, source: str) -> dict:
    unknown = [key for key in row if key not in LOG_KEYS]
    if unknown:
        raise ValueError(f"unknown field {unknown[0]!r}: not a hand-off log row (known: {', '.join(LOG_KEYS)})")
    if not isinstance(row["input"], str) or not row["input"].strip():
        raise ValueError("input must be the user's message, a non-empty string")
    if problems := task.context_problems(row["context"]):
        raise ValueError(f"context: {problems[0]}")
    example = {"input": row["input"], "context": row["context"], "category": ORIGIN}
    if row.get("tools") is not None:
        if problem := tools_problem(row["tools"]):
            raise ValueError(f"tools{'' if problem[0] is None else f'[{problem[0]}]'}: {problem[1]}")
        example["tools"] = row["tools"]
    return {**example, "meta": {"origin": ORIGIN, "source": source}}


def add_handoffs(handoffs: list[dict], splits: dict[str, list[dict]], held_out: dict[str, list[dict]], default_tools: list[dict]) -> dict:
    """Append the hand-offs to `splits["train"]`: once each, none whose request is already in
    train, none whose utterance is a dev, test or hand-written one (it would be trained on).
    Returns the counts for metrics/prepare.json."""
    train = splits["train"]
    carries_tools = any("tools" in e for split in splits.values() for e in split)  # the prompts list each request's tools
    evaluated = {normal_text(e["input"]) for name, split in {**splits, **held_out}.items() if name != "train" for e in split}
    seen = {_request_key(e, default_tools) for e in train}
    ids = {e["id"] for e in train}
    counts = {"handoffs_read": len(handoffs), "handoffs_duplicates": 0, "handoffs_held_out": 0}
    added = 0
    for example in handoffs:
        key = _request_key(example, default_tools)
        if normal_text(example["input"]) in evaluated:
            counts["handoffs_held_out"] += 1
            continue
        if key in seen:
            counts["handoffs_duplicates"] += 1
            continue
        seen.add(key)
        tools = example.get("tools") or default_tools
        if not carries_tools and tools != default_tools:
            raise SupertinyError(f"{example['meta']['source']}: the request brings its own tools, but the task's requests share one tool set")
        example_id = f"{ORIGIN}-{added:05d}"
        if example_id in ids:
            raise SupertinyError(f"{example['meta']['source']}: train already has an example with id {example_id!r}")
        row = {"id": example_id, "input": example["input"], "context": example["context"], "category": ORIGIN}
        if carries_tools:
            row["tools"] = tools
        train.append({**row, "meta": example["meta"]})
        added += 1
    return {**counts, "handoffs_added": added}


def _request_key(example: dict, default_tools: list[dict]) -> str:
    """Equal for the same request: utterance, context and tools."""
    return json.dumps([example["input"], example["context"], example.get("tools") or default_tools], sort_keys=True, ensure_ascii=False)
