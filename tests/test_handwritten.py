"""The hand-written held-out sets of smart_home (src/supertiny/tasks/smart_home/handwritten.py,
and blind.py, written blind to the teacher's rules and the generator): valid row by row, big and
varied enough, kept out of everything that trains, and checked by `prepare` with a one-line
error naming the file and line."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from presets import write_tiny_params
from supertiny.errors import SupertinyError
from supertiny.held_out import check_kept_out, held_out_requests, load_held_out_sets, read_held_out_set
from supertiny.params import load_params
from supertiny.tasks.smart_home import phrasing
from supertiny.tasks.smart_home.blind import BLIND_FILE
from supertiny.tasks.smart_home.generator import CATEGORIES
from supertiny.tasks.smart_home.home import CAPABILITY_OF_FUNCTION, context_problems, home_signature
from supertiny.tasks.smart_home.tools import consistency_problems
from supertiny.teacher.loop import schemas_by_name, validation_error
from supertiny.utterances import normal_text

ROOT = Path(__file__).resolve().parents[1]


SETS = ("handwritten", "blind")


@pytest.fixture(scope="module")
def held_out(task):
    return load_held_out_sets(task)


@pytest.fixture(scope="module")
def handwritten(held_out):
    return held_out["handwritten"]


@pytest.fixture(params=SETS)
def rows(request, held_out):
    """Each of the task's held-out sets in turn: the row checks hold for every one."""
    return held_out[request.param]


def test_every_gold_is_valid_for_the_tool_schemas_and_its_home(task, rows):
    """The judge's own checks: each call's arguments against its schema, and the home's
    (the device exists, has the capability, no duplicate or conflicting calls)."""
    schemas = schemas_by_name(task.action_tools)
    for example in rows:
        assert context_problems(example["context"]) == [], example["id"]
        gold = example["gold"]
        if example["category"] == "irrelevance":
            assert isinstance(gold, str), example["id"]
            continue
        assert isinstance(gold, list) and gold, example["id"]
        for call in gold:
            assert validation_error(schemas[call["name"]], call["arguments"]) is None, (example["id"], call)
        assert consistency_problems(example["context"], gold) == [], example["id"]
        if example["category"] in ("simple", "multiple", "relative"):
            assert len(gold) == 1, example["id"]
        if example["category"] == "simple":
            assert gold[0]["name"] == "set_power", example["id"]
        if example["category"] == "multiple":
            assert gold[0]["name"] != "set_power", example["id"]
        if example["category"] == "parallel":
            assert len(gold) >= 2, example["id"]


def test_replies_are_the_tasks_replies(rows):
    """Any reply matches a gold reply in exact match; the similarity compares wordings, so the
    golds use the task's own (phrasing.REPLY_*)."""
    forms = [phrasing.REPLY_CHITCHAT, phrasing.REPLY_NO_DEVICE, phrasing.REPLY_NO_ROOM, phrasing.REPLY_UNSUPPORTED]
    patterns = [re.compile(re.escape(form).replace(r"\{name\}", ".+").replace(r"\{room\}", ".+") + "$") for form in forms]
    for example in rows:
        if isinstance(example["gold"], str):
            assert any(p.match(example["gold"]) for p in patterns), (example["id"], example["gold"])


def test_relative_golds_step_from_the_current_state(rows):
    quantity = {"set_temperature": ("temperature", "celsius"), "set_brightness": ("brightness", "level"), "set_volume": ("volume", "level")}
    for example in (e for e in rows if e["category"] == "relative"):
        call = example["gold"][0]
        key, argument = quantity[call["name"]]
        device = next(d for d in example["context"]["devices"] if d["id"] == call["arguments"]["device"])
        assert device["state"]["power"] == "on" and call["arguments"][argument] != device["state"][key], example["id"]


def test_size_homes_and_categories(rows):
    assert len(rows) >= 120
    assert len({e["id"] for e in rows}) == len(rows)
    assert len({normal_text(e["input"]) for e in rows}) == len(rows)
    homes = {e["context"]["home"]: e["context"] for e in rows}
    assert len(homes) >= 5
    layouts = {tuple(sorted((r["name"], r["floor"]) for r in c["rooms"])) for c in homes.values()}
    assert len(layouts) == len(homes), "each home has its own layout"
    assert len({home_signature(c) for c in homes.values()}) == len(homes)
    counts = Counter(e["category"] for e in rows)
    assert set(counts) == set(CATEGORIES)
    assert max(counts.values()) <= 1.5 * min(counts.values()), counts
    first = Counter(e["category"] for e in rows[:25])  # a prefix (evaluate.held_out_limit) stays balanced
    assert set(first) == set(CATEGORIES) and max(first.values()) - min(first.values()) <= 1, first


def test_no_hand_written_request_is_in_the_generated_train_or_dev(task, held_out):
    """At the shipped params (the default run's prepare) and at the tests' seed, for every set."""
    settings = load_params(ROOT / "params.yaml").prepare
    for seed in (settings.seed, 7):
        splits = task.generate(dataclasses.replace(settings, seed=seed), held_out_requests(held_out))
        trained = {normal_text(e["input"]) for split in ("train", "dev") for e in splits[split]}
        assert not trained & {normal_text(e["input"]) for rows in held_out.values() for e in rows}
        check_kept_out(held_out, splits)


def test_a_hand_written_request_drawn_into_train_stops_prepare(handwritten):
    example = handwritten[3]
    train = [{"id": "train-00042", "input": example["input"].upper() + "!"}]
    with pytest.raises(SupertinyError, match=rf"handwritten example '{example['id']}' .* is also train example 'train-00042'"):
        check_kept_out({"handwritten": handwritten}, {"train": train, "dev": []})


def test_the_blind_set_is_one_of_the_tasks_held_out_sets(task, held_out):
    assert task.held_out_sets() == {"handwritten": task.held_out_sets()["handwritten"], "blind": BLIND_FILE}
    assert list(held_out) == list(SETS) and BLIND_FILE.is_file()


def test_blind_golds_use_only_devices_of_their_own_home(held_out):
    """Each blind row's home is the one its id names, the same (state included) in every row of
    that home, and its gold calls only that home's devices, with the capability the call needs."""
    homes: dict[str, dict] = {}
    for example in held_out["blind"]:
        context = example["context"]
        assert re.fullmatch(rf"{re.escape(context['home'])}-\d\d", example["id"]), example["id"]
        assert homes.setdefault(context["home"], context) == context, f"{example['id']}: its home differs from an earlier row's"
        if isinstance(example["gold"], str):
            continue
        devices = {d["id"]: d for d in context["devices"]}
        for call in example["gold"]:
            if call["name"] == "set_timer":
                continue
            device = devices.get(call["arguments"]["device"])
            assert device is not None, (example["id"], call)
            assert CAPABILITY_OF_FUNCTION[call["name"]] in device["capabilities"], (example["id"], call)
    assert len(homes) >= 5


def test_the_two_sets_share_no_request_and_no_home_id(held_out):
    hand, blind = held_out["handwritten"], held_out["blind"]
    assert not {normal_text(e["input"]) for e in hand} & {normal_text(e["input"]) for e in blind}
    assert not {e["context"]["home"] for e in hand} & {e["context"]["home"] for e in blind}
    assert not {e["id"] for e in hand} & {e["id"] for e in blind}


def _broken(row: dict, how: str) -> dict:
    row = json.loads(json.dumps(row))
    if how == "unknown device":
        row["gold"] = [{"name": "set_power", "arguments": {"device": "attic_fan", "on": True}}]
    elif how == "schema":
        row["gold"] = [{"name": "set_power", "arguments": {"device": row["context"]["devices"][0]["id"], "on": "yes"}}]
    elif how == "unknown function":
        row["gold"] = [{"name": "open_door", "arguments": {}}]
    elif how == "category":
        row["category"] = "weird"
    elif how == "reply outside irrelevance":
        row["gold"] = "Sorry."
    elif how == "context":
        row["context"]["devices"][0]["capabilities"] = ["power", "volume"]
    elif how == "missing key":
        del row["gold"]
    return row


@pytest.mark.parametrize("how, message", [
    ("unknown device", "gold: unknown_device"), ("schema", "gold call set_power: on: 'yes' is not of type 'boolean'"),
    ("unknown function", "gold calls unknown function 'open_door'"), ("category", "category must be one of"),
    ("reply outside irrelevance", "gold must be a reply"), ("context", "context: device"), ("missing key", "missing key 'gold'"),
])
def test_a_broken_row_is_refused_naming_the_file_and_line(task, handwritten, tmp_path, how, message):
    rows = [e for e in handwritten if e["category"] == "simple"][:4]
    rows[2] = _broken(rows[2], how)
    path = tmp_path / "handwritten.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows[:2]) + "\n" + "".join(json.dumps(r) + "\n" for r in rows[2:]))
    with pytest.raises(SupertinyError) as error:
        read_held_out_set(task, path)
    assert str(error.value).startswith(f"{path}:4: ")  # the blank line counts: line numbers are the file's
    assert message in str(error.value) and "\n" not in str(error.value)


def _project(tmp_path: Path) -> Path:
    """The sources, stages, examples (the default, empty, hand-off folder) and tiny params in a
    folder where `python stages/prepare.py` runs (no DVC)."""
    for name in ("src", "stages", "examples", "params.yaml"):
        (shutil.copytree if (ROOT / name).is_dir() else shutil.copy)(ROOT / name, tmp_path / name)
    write_tiny_params(tmp_path / "params.yaml")
    return tmp_path


def _prepare(project: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(project / "src")}
    return subprocess.run([sys.executable, "stages/prepare.py"], cwd=project, capture_output=True, text=True, env=env)


def test_prepare_copies_the_sets_beside_the_generated_splits(tmp_path, handwritten, held_out):
    project = _project(tmp_path)
    result = _prepare(project)
    assert result.returncode == 0, result.stderr
    written = [json.loads(line) for line in (project / "data/task/handwritten.jsonl").read_text().splitlines()]
    assert written == handwritten
    metrics = json.loads((project / "metrics/prepare.json").read_text())
    assert metrics["handwritten_examples"] == len(handwritten) and metrics["train_examples"] == 60
    assert sum(metrics[f"handwritten_{c}"] for c in CATEGORIES) == len(handwritten)
    blind = [json.loads(line) for line in (project / "data/task/blind.jsonl").read_text().splitlines()]
    assert blind == held_out["blind"] and metrics["blind_examples"] == len(blind)
    trained = {normal_text(json.loads(line)["input"]) for split in ("train", "dev")
               for line in (project / f"data/task/{split}.jsonl").read_text().splitlines()}
    assert not trained & {normal_text(e["input"]) for e in handwritten}


def test_prepare_stops_on_a_broken_row_with_one_line(tmp_path, handwritten):
    project = _project(tmp_path)
    shipped = project / "src/supertiny/tasks/smart_home/handwritten.jsonl"
    lines = shipped.read_text().splitlines(keepends=True)
    lines[6] = json.dumps(_broken(json.loads(lines[6]), "unknown device")) + "\n"
    shipped.write_text("".join(lines))
    result = _prepare(project)
    assert result.returncode == 2
    assert result.stderr.strip() == f"supertiny: error: {shipped}:7: gold: unknown_device"
    assert not (project / "data").exists(), "nothing is written before the set is checked"


def test_generated_homes_pass_the_context_check(splits):
    """The check hand-written homes go through is no stricter than what the generator makes."""
    assert [e["id"] for split in splits.values() for e in split if context_problems(e["context"])] == []
