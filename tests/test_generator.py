"""The smart_home generator: seeded, balanced, and honest about what test holds."""

from __future__ import annotations

import json
import random
import re
from collections import Counter

import pytest

from presets import drawing
from reference_teacher import reference_teacher_traces
from supertiny.errors import SupertinyError
from supertiny.held_out import check_kept_out, held_out_requests, load_held_out_sets
from supertiny.score import exact_match
from supertiny.tasks.smart_home import phrasing
from supertiny.tasks.smart_home.generator import CATEGORIES, MAX_PARALLEL_CALLS, generate_home, generate_splits, opposite_power
from supertiny.tasks.smart_home.home import home_signature
from supertiny.teacher.loop import schemas_by_name, validation_error
from supertiny.utterances import normal_text


def test_same_seed_same_examples_and_other_seed_differs(task):
    sizes = {"train": 60, "dev": 20, "test": 20}
    first = task.generate(drawing(3, sizes, typo_rate=0.1))
    again = task.generate(drawing(3, sizes, typo_rate=0.1))
    other = task.generate(drawing(4, sizes, typo_rate=0.1))
    assert first == again
    assert [e["input"] for e in first["test"]] != [e["input"] for e in other["test"]]


def test_test_split_does_not_depend_on_the_train_size(task):
    """Drawn after train, test skipped train's homes: a larger train (here 1,000) moved it."""
    small = task.generate(drawing(3, {"train": 200, "dev": 20, "test": 20}, typo_rate=0.1))
    large = task.generate(drawing(3, {"train": 1000, "dev": 20, "test": 20}, typo_rate=0.1))
    assert small["test"] == large["test"] and small["dev"] == large["dev"]


def test_kept_out_utterances_are_never_drawn():
    sizes = {"train": 80, "dev": 20, "test": 20}
    free = generate_splits(5, sizes, 0.0)
    keep_out = frozenset(normal_text(e["input"]) for e in free["train"][::4] + free["test"][:3])
    kept_out = generate_splits(5, sizes, 0.0, keep_out)
    drawn = {normal_text(e["input"]) for examples in kept_out.values() for e in examples}
    assert not drawn & keep_out
    assert [len(kept_out[s]) for s in sizes] == [80, 20, 20]


def test_the_held_out_requests_kept_out_of_a_large_train(task):
    """At 2,400 train requests the default seed draws a hand-written timer request into train
    unless `prepare` passes the held-out requests as `keep_out`."""
    held_out, sizes = load_held_out_sets(task), {"train": 2400, "dev": 100, "test": 150}
    with pytest.raises(SupertinyError, match="an hour and a half"):
        check_kept_out(held_out, task.generate(drawing(20261125, sizes, typo_rate=0.06)))
    check_kept_out(held_out, task.generate(drawing(20261125, sizes, typo_rate=0.06), held_out_requests(held_out)))


def test_train_requests_per_home_asks_several_requests_of_one_home_and_state(task):
    """`prepare.train_requests_per_home`: train's requests come in runs on one context (home and
    state), categories still balanced; dev and test are the one-request-a-home draws."""
    sizes = {"train": 400, "dev": 20, "test": 20}
    single = task.generate(drawing(3, sizes, typo_rate=0.1))
    grouped = task.generate(drawing(3, sizes, typo_rate=0.1, train_requests_per_home=4))
    assert grouped["test"] == single["test"] and grouped["dev"] == single["dev"]
    contexts = [json.dumps(e["context"], sort_keys=True) for e in grouped["train"]]
    asked = Counter(contexts)
    assert max(asked.values()) == 4 and sum(n == 4 for n in asked.values()) * 4 >= 0.9 * len(contexts)
    assert len(set(json.dumps(e["context"], sort_keys=True) for e in single["train"])) > 0.9 * len(single["train"])
    assert Counter(e["category"] for e in grouped["train"]) == Counter(e["category"] for e in single["train"])
    assert len({normal_text(e["input"]) for e in grouped["train"]}) == 400
    first = grouped["train"][0]
    first["context"]["devices"][0]["state"]["power"] = "changed"  # each example owns its context
    assert all(e["context"]["devices"][0]["state"]["power"] != "changed" for e in grouped["train"][1:4])


def _switches_one_on_and_one_off(example: dict) -> bool:
    templates = example["meta"]["templates"]
    return any(t.startswith("power_on/") for t in templates) and any(t.startswith("power_off/") for t in templates)


def test_opposite_power_share_adds_one_on_one_off_requests_to_train_only(task):
    """`prepare.train_opposite_power_share`: the generator's two-device requests asked one action
    of both, so students copied the first call's `on` into the second ("tv off, lamp on" came
    out both off). The share turns that many of train's into one on and one off; test and dev
    stay the same requests, and 0 leaves train as it was."""
    sizes = {"train": 800, "dev": 20, "test": 20}
    before = task.generate(drawing(3, sizes, typo_rate=0.1))
    assert task.generate(drawing(3, sizes, typo_rate=0.1, train_opposite_power_share=0.0)) == before
    after = task.generate(drawing(3, sizes, typo_rate=0.1, train_opposite_power_share=1.0))
    assert after["test"] == before["test"] and after["dev"] == before["dev"]
    opposite = sum(map(_switches_one_on_and_one_off, after["train"]))
    assert opposite >= sum(map(_switches_one_on_and_one_off, before["train"])) + 10
    assert Counter(e["category"] for e in after["train"]) == Counter(e["category"] for e in before["train"])


def test_opposite_power_requests_say_what_their_gold_does(task):
    """Each half switches a device to the other state than it is in, on two devices; the
    reference teacher (whose traces train) reads the text to the same calls."""
    rng, examples = random.Random(5), []
    while len(examples) < 40:
        context = generate_home(rng, f"home-{len(examples)}")
        draft = opposite_power(rng, context, "dev")
        if draft is None:
            continue
        states = {d["id"]: d["state"]["power"] for d in context["devices"]}
        assert len(draft.gold) == 2 and {c["arguments"]["on"] for c in draft.gold} == {True, False}
        assert all(states[c["arguments"]["device"]] == ("off" if c["arguments"]["on"] else "on") for c in draft.gold)
        examples.append({"id": str(len(examples)), "input": draft.text, "context": context, "gold": draft.gold})
    right = [exact_match(t["final"], t["gold"]) for t in reference_teacher_traces(task, examples)]
    assert sum(right) >= 38, [e["input"] for e, ok in zip(examples, right) if not ok]


def test_split_sizes_categories_and_gold_only_in_eval_splits(splits):
    assert [len(splits[s]) for s in ("train", "dev", "test")] == [400, 120, 150]
    for split, examples in splits.items():
        counts = {c: sum(e["category"] == c for e in examples) for c in CATEGORIES}
        assert max(counts.values()) - min(counts.values()) <= 1, (split, counts)
        assert all(("gold" in e) == (split != "train") for e in examples)
        assert all(e["id"].startswith(split) for e in examples)


def test_test_phrasings_and_homes_never_appear_in_train(splits):
    train, test = splits["train"], splits["test"]
    train_utterances = {normal_text(e["input"]) for e in train}
    assert not train_utterances & {normal_text(e["input"]) for e in test}
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
        if call["name"] == "set_power":  # "it's too dark", "it's stuffy": the device was off
            assert example["meta"]["templates"][0].startswith("indirect/") and device["state"]["power"] == "off"
            continue
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


def _kinds_of_wording(examples) -> set[str]:
    kinds = set()
    for example in examples:
        text, templates = example["input"].lower(), example["meta"]["templates"]
        kinds |= {t.split("/")[0] for t in templates if t.split("/")[0] in ("indirect", "not_room")}
        if any(t.startswith(("temperature_", "brightness_", "volume_")) for t in templates) and re.search(r"\b(tad|touch|notch|loads)\b", text):
            kinds.add("vague")
        if re.search(r"\b(big light|top light|desk lamp|fairy lights|leds|radio|stereo|espresso machine|air filter)\b", text):
            kinds.add("nickname")
        if re.search(r"\b(family room|den|kitchenette|foyer|workroom|loo|playroom|spare bedroom)\b", text):
            kinds.add("room_synonym")
        if text.rstrip(".!?") in ("thanks", "thank you so much", "good morning", "cheers mate", "great job", "ok cool"):
            kinds.add("thanks")
    return kinds


def test_everyday_wording_reaches_train_and_test_alike(splits):
    wanted = {"indirect", "not_room", "vague", "nickname", "room_synonym"}
    assert wanted <= _kinds_of_wording(splits["train"])
    assert wanted <= _kinds_of_wording(splits["test"] + splits["dev"])


def test_indirect_and_missing_place_templates_hold_some_out(splits):
    train = {t for e in splits["train"] for t in e["meta"]["templates"] if t.startswith(("indirect/", "not_room/"))}
    evaluation = {t for e in splits["test"] + splits["dev"] for t in e["meta"]["templates"] if t.startswith(("indirect/", "not_room/"))}
    assert not any(phrasing.held_out(int(t.rsplit("/", 1)[1])) for t in train)
    assert any(phrasing.held_out(int(t.rsplit("/", 1)[1])) for t in evaluation)


def test_indirect_gold_acts_on_the_rooms_first_helpful_device(splits):
    checked = 0
    for example in splits["dev"] + splits["test"]:
        if not example["meta"]["templates"][0].startswith("indirect/"):
            continue
        call = example["gold"][0]
        devices = example["context"]["devices"]
        device = next(d for d in devices if d["id"] == call["arguments"]["device"])
        capability = {"set_temperature": "temperature", "set_volume": "volume"}.get(call["name"], "brightness" if device["type"] == "light" else "power")
        helpful = [d for d in devices if capability in d["capabilities"] and d["type"] == device["type"]]
        in_here = "in here" in example["input"].lower()
        assert (helpful == [device]) if in_here else (next(d for d in helpful if d["room"] == device["room"]) == device)
        checked += 1
    assert checked >= 5


def test_missing_places_get_the_no_room_reply(splits):
    examples = [e for e in splits["test"] + splits["dev"] if any(t.startswith("not_room/") for t in e["meta"]["templates"])]
    assert examples and all(e["gold"].startswith("Sorry, this home has no") for e in examples)
