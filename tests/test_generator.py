"""The smart_home generator: seeded, balanced, and honest about what test holds."""

from __future__ import annotations

import re

from supertiny.tasks.smart_home import phrasing
from supertiny.tasks.smart_home.generator import CATEGORIES, MAX_PARALLEL_CALLS, _normal
from supertiny.tasks.smart_home.home import home_signature
from supertiny.teacher.loop import schemas_by_name, validation_error


def test_same_seed_same_examples_and_other_seed_differs(task):
    sizes = {"train": 60, "dev": 20, "test": 20}
    first = task.generate(seed=3, sizes=sizes, typo_rate=0.1)
    again = task.generate(seed=3, sizes=sizes, typo_rate=0.1)
    other = task.generate(seed=4, sizes=sizes, typo_rate=0.1)
    assert first == again
    assert [e["input"] for e in first["test"]] != [e["input"] for e in other["test"]]


def test_split_sizes_categories_and_gold_only_in_eval_splits(splits):
    assert [len(splits[s]) for s in ("train", "dev", "test")] == [400, 120, 150]
    for split, examples in splits.items():
        counts = {c: sum(e["category"] == c for e in examples) for c in CATEGORIES}
        assert max(counts.values()) - min(counts.values()) <= 1, (split, counts)
        assert all(("gold" in e) == (split != "train") for e in examples)
        assert all(e["id"].startswith(split) for e in examples)


def test_test_phrasings_and_homes_never_appear_in_train(splits):
    train, test = splits["train"], splits["test"]
    train_utterances = {_normal(e["input"]) for e in train}
    assert not train_utterances & {_normal(e["input"]) for e in test}
    assert not {home_signature(e["context"]) for e in train} & {home_signature(e["context"]) for e in test}
    train_templates = {t for e in train for t in e["meta"]["templates"]}
    held_out = {t for e in test for t in e["meta"]["templates"] if phrasing.held_out(int(t.rsplit("/", 1)[1]))}
    assert held_out, "the test split must use held-out templates"
    assert not held_out & train_templates
    assert sum(e["meta"]["held_out_phrasing"] for e in test) >= len(test) // 5


def test_gold_answers_are_valid_for_their_home(task, splits):
    schemas = schemas_by_name(task.action_tools)
    for example in splits["dev"] + splits["test"]:
        gold = example["gold"]
        if example["category"] == "irrelevance":
            assert isinstance(gold, str) and gold.startswith("Sorry")
            continue
        assert isinstance(gold, list) and gold
        for call in gold:
            assert validation_error(schemas[call["name"]], call["arguments"]) is None, (example["input"], call)
        assert task.answer_problems(example, gold) == [], example["input"]
        if example["category"] in ("simple", "multiple", "relative"):
            assert len(gold) == 1
        if example["category"] == "parallel":
            assert 2 <= len(gold) <= MAX_PARALLEL_CALLS


def test_paraphrase_is_rich(splits):
    inputs = [e["input"] for e in splits["train"]]
    assert len(set(inputs)) == len(inputs)
    assert any(re.search(r"\b(twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)\b", i.lower()) for i in inputs)
    assert any(re.search(r"\d", i) for i in inputs)
    assert len({t for e in splits["train"] for t in e["meta"]["templates"]}) > 60


def test_relative_gold_follows_the_current_state(splits):
    checked = 0
    for example in splits["test"]:
        if example["category"] != "relative":
            continue
        call = example["gold"][0]
        device = next(d for d in example["context"]["devices"] if d["id"] == call["arguments"]["device"])
        value = call["arguments"].get("celsius", call["arguments"].get("level"))
        quantity = {"set_temperature": "temperature", "set_brightness": "brightness", "set_volume": "volume"}[call["name"]]
        assert value != device["state"][quantity]
        checked += 1
    assert checked >= 20


def test_numbers_in_words():
    assert phrasing.number_to_words(7) == "seven"
    assert phrasing.number_to_words(21) == "twenty one"
    assert phrasing.number_to_words(100) == "a hundred"
    assert phrasing.number_to_words(145) == "a hundred and forty five"
