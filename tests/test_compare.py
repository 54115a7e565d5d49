"""`supertiny compare`: the paired change between two runs' scored requests, per set and
category, seeds pooled; read from scored files and from git revisions."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from dvc_project import git_commit, run

from supertiny.compare import compare_markdown, compare_runs, scored_rows
from supertiny.errors import SupertinyError


def rows(split: str, outcomes: str, category: str = "simple", prefix: str = "") -> list[dict]:
    """One scored row per character: 1 right, 0 wrong."""
    return [{"id": f"{prefix}{split}-{i}", "split": split, "category": category, "correct": c == "1"} for i, c in enumerate(outcomes)]


def by_group(result: list[dict]) -> dict[tuple[str, str], dict]:
    return {(row["set"], row["category"]): row for row in result}


def test_a_gain_on_every_request_is_beyond_the_noise_and_seeds_pool_their_pairs():
    before = rows("test", "0" * 30) + rows("handwritten", "1" * 10 + "0" * 10, "parallel")
    after = rows("test", "1" * 30) + rows("handwritten", "1" * 10 + "0" * 10, "parallel")
    groups = by_group(compare_runs([(before, after)]))
    assert list(groups) == [("test", "all"), ("test", "simple"), ("handwritten", "all"), ("handwritten", "parallel"), ("all", "all")]
    test, handwritten, pooled = groups["test", "all"], groups["handwritten", "all"], groups["all", "all"]
    assert (test["examples"], test["exact_match_before"], test["exact_match_after"], test["change"]) == (30, 0.0, 1.0, 1.0)
    assert test["significant"] and not handwritten["significant"] and handwritten["change"] == 0.0
    assert (pooled["examples"], pooled["change"]) == (50, 0.6)

    # a second seed whose change goes the other way: the same request ids, pooled as other pairs
    seed1 = (rows("test", "1" * 30), rows("test", "0" * 15 + "1" * 15))
    two = by_group(compare_runs([(before, after), seed1]))
    assert (two["test", "all"]["examples"], two["test", "all"]["change"]) == (60, 0.25)
    assert [row["set"] for row in compare_runs([seed1])] == ["test", "test"]  # one set: no pooled row


def test_only_requests_both_runs_scored_are_paired():
    before = rows("test", "0000") + rows("test", "11", prefix="old-")
    after = rows("test", "1100") + rows("test", "00", prefix="new-")
    (test, _) = compare_runs([(before, after)])
    assert (test["examples"], test["change"]) == (4, 0.5)
    with pytest.raises(SupertinyError, match="^the runs compared scored no request in common"):
        compare_runs([(rows("test", "01", prefix="a"), rows("test", "01", prefix="b"))])


def test_a_scored_file_is_read_with_its_line_named_on_a_bad_row(tmp_path):
    good = tmp_path / "sft.jsonl"
    good.write_text("".join(json.dumps(row) + "\n" for row in rows("test", "10")))
    scored = scored_rows(str(good), "ignored")
    assert [row["correct"] for row in scored] == [True, False]
    table = compare_markdown(compare_runs([(scored, scored)]), [str(good)], [str(good)], "deployed", "deployed")
    assert table.startswith(f"Exact match, {good} -> {good};")  # a file names no model: the table does not guess one
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(rows("test", "1")[0]) + "\n" + json.dumps({"id": "x", "split": "test"}) + "\n")
    with pytest.raises(SupertinyError, match=r"bad.jsonl:2: missing key 'category'"):
        scored_rows(str(bad), "ignored")
    with pytest.raises(SupertinyError, match=r"gone.jsonl: file not found$"):
        scored_rows(str(tmp_path / "gone.jsonl"), "ignored")


def test_compare_reads_two_revisions_through_dvc_and_names_what_is_missing(tmp_path):
    repo = tmp_path / "repo"
    (repo / "data/eval").mkdir(parents=True)
    run(["git", "init", "-q"], repo)
    run([sys.executable, "-m", "dvc", "init", "-q"], repo)
    scored = repo / "data/eval/deployed.jsonl"
    for message, outcomes in (("before", "0" * 20 + "1" * 20), ("after", "1" * 40)):
        scored.write_text("".join(json.dumps(row) + "\n" for row in rows("test", outcomes) + rows("blind", "10")))
        git_commit(repo, message)
    output = tmp_path / "compare.json"

    def compare(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "supertiny.cli", "compare", *args], cwd=repo, capture_output=True, text=True,
                              env={**os.environ, "DVC_NO_ANALYTICS": "1"})

    done = compare("--before", "HEAD~1", "--after", "workspace", "--output", str(output))
    assert done.returncode == 0, done.stderr
    test = by_group(json.loads(output.read_text()))["test", "all"]
    assert (test["examples"], test["change"], test["significant"]) == (40, 0.5, True)
    assert done.stdout.startswith("Exact match of deployed, HEAD~1 -> workspace;")
    assert "| test | all | 40 | 0.500 | 1.000 | +0.500 [" in done.stdout and "beyond the noise" in done.stdout

    missing = compare("--before", "HEAD", "--after", "HEAD", "--model", "sft")
    assert missing.returncode != 0 and missing.stderr.strip().splitlines()[-1].startswith("supertiny: error: data/eval/sft.jsonl at HEAD")
    scored.write_text(scored.read_text() + json.dumps({"id": "x", "split": "test"}) + "\n")  # a bad row in the workspace
    broken = compare("--before", "HEAD", "--after", "workspace")
    assert broken.returncode != 0 and broken.stderr.strip().splitlines()[-1] == "supertiny: error: data/eval/deployed.jsonl:43: missing key 'category'"
    unpaired = compare("--before", "HEAD~1", "--before", "HEAD", "--after", "HEAD")
    assert unpaired.returncode != 0
    assert unpaired.stderr.strip().splitlines()[-1] == ("supertiny: error: --before names 2 runs and --after 1: "
                                                        "give one of each per seed, in the same order")
