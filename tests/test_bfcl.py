"""The bfcl task on real entries of the installed bfcl-eval wheel: the conversion of BFCL's
functions and possible answers, bfcl-eval's own checker through our adapter, the splits."""

from __future__ import annotations

import pytest

from presets import drawing
from supertiny.params import BfclParams
from supertiny.tasks import get_task
from supertiny.tasks.bfcl.checker import check, decoded_output, official_scores
from supertiny.tasks.bfcl.compose import composed_requests
from supertiny.tasks.bfcl.data import NO_CALL_REPLY, TEST_CATEGORIES, TRAIN_CATEGORIES, by_id, category_examples, example, first_answer
from supertiny.teacher.replay import ReplayBackend
from supertiny.tool_format import parse_answer, render_answer
from supertiny.tool_schemas import call_problem, schemas_by_name, tools_problem


OFF_SCHEMA = {"live_parallel_multiple_2-2-0"}  # BFCL's answer is not one of the enum's values (the judge rejects such traces)


def converted(category: str, entry_id: str) -> dict:
    return example(by_id(category)[entry_id], category)


def signature(example: dict) -> dict[str, dict[str, str]]:
    return {t["function"]["name"]: {k: v["type"] for k, v in t["function"]["parameters"]["properties"].items()} for t in example["tools"]}


@pytest.mark.parametrize("category", TRAIN_CATEGORIES + TEST_CATEGORIES)
def test_the_first_entries_of_every_category_become_valid_examples(category):
    examples = category_examples(category)[:4]
    assert len(examples) == 4
    for row in examples:
        assert row["category"] == category and row["input"].strip()
        assert tools_problem(row["tools"]) is None, row["id"]
        if "irrelevance" in category:
            assert row["gold"] == NO_CALL_REPLY
        elif row["id"] not in OFF_SCHEMA:
            schemas = schemas_by_name(row["tools"])
            assert row["gold"] and all(call_problem(call, schemas) is None for call in row["gold"]), row["id"]


def test_functions_become_openai_tools_as_bfcls_own_handlers_convert_them():
    row = converted("multiple", "multiple_5")  # a tuple of floats, dotted names
    assert signature(row) == {
        "weather_get_by_city_date": {"city": "string", "date": "string"},
        "weather_get_forecast_by_coordinates": {"coordinates": "array", "days_ahead": "integer"},
        "weather_get_by_coordinates_date": {"coordinates": "array", "date": "string"},
    }
    assert row["tools"][1]["function"]["parameters"]["properties"]["coordinates"]["items"] == {"type": "number"}  # BFCL's "float"
    assert row["tools"][1]["function"]["parameters"]["type"] == "object"  # BFCL's "dict"
    assert signature(converted("multiple", "multiple_8"))["realestate_find_properties"]["budget"] == "object"
    assert signature(converted("parallel_multiple", "parallel_multiple_57"))["flight_search"]["date"] == "string"  # "any", as BFCL maps it
    assert signature(converted("simple_python", "simple_python_200"))["calculate_emissions"]["fuel_efficiency"] == "number"  # "float"


def test_the_gold_answer_is_each_arguments_first_acceptable_value():
    assert converted("live_simple", "live_simple_2-2-0")["gold"] == [
        {"name": "uber_ride", "arguments": {"loc": "2020 Addison Street, Berkeley, CA, USA", "type": "comfort", "time": 600}}]
    assert converted("parallel", "parallel_0")["gold"] == [
        {"name": "spotify_play", "arguments": {"artist": "Taylor Swift", "duration": 20}},
        {"name": "spotify_play", "arguments": {"artist": "Maroon 5", "duration": 15}}]
    # a dict argument's acceptable values are dicts of acceptable values
    assert converted("multiple", "multiple_8")["gold"][0]["arguments"]["budget"] == {"min": 300000, "max": 400000}
    # "" first: optional, left out; but a required argument takes its first real value
    functions = [{"name": "f.g", "parameters": {"type": "dict", "required": ["a"], "properties": {"a": {"type": "integer"}, "b": {"type": "string"}}}}]
    assert first_answer([{"f.g": {"a": ["", 3], "b": ["", "x"]}}], functions) == [{"name": "f_g", "arguments": {"a": 3}}]
    assert converted("simple_python", "simple_python_200")["gold"][0]["arguments"]["fuel_efficiency"] == 25.0


def test_multi_turn_chats_are_left_out():
    entry = by_id("live_irrelevance")["live_irrelevance_125-11-0"]
    assert len(entry["question"][0]) > 1 and example(entry, "live_irrelevance") is None
    assert len(category_examples("live_irrelevance")) < len(by_id("live_irrelevance"))


def answer(text: str):
    return parse_answer(text)


@pytest.mark.parametrize("category, entry_id, text, valid", [
    ("simple_python", "simple_python_0", "calculate_triangle_area(base=10, height=5, unit=units)", True),
    ("simple_python", "simple_python_0", "calculate_triangle_area(base=10, height=5)", True),  # unit is optional
    ("simple_python", "simple_python_0", "calculate_triangle_area(base=10.0, height=5)", False),  # an integer argument
    ("simple_python", "simple_python_0", "calculate_triangle_area(base=5, height=10)", False),
    ("simple_python", "simple_python_0", "calculate_triangle_area(base=10)", False),  # a required argument missing
    ("simple_python", "simple_python_0", "The area is 25.", False),
    ("simple_python", "simple_python_0", "calculate_triangle_area(base=10, height=5\nsure", False),  # unparseable
    ("multiple", "multiple_5", 'weather_get_by_coordinates_date(coordinates=[46.603354, 1.888334], date="2019-12-13")', True),
    ("multiple", "multiple_5", 'weather_get_by_city_date(city=Paris, date="2019-12-13")', False),  # the wrong function
    ("multiple", "multiple_5", 'weather.get_by_coordinates_date(coordinates=[46.603354, 1.888334], date="2019-12-13")', False),  # not the name it was shown
    ("multiple", "multiple_8", 'realestate_find_properties(location="San Diego, CA", propertyType=villa, bedrooms=3, budget={"min": 300000, "max": 400000})', True),
    ("multiple", "multiple_8", 'realestate_find_properties(location="San Diego", propertyType=villa, bedrooms=3, budget={"min": 300000})', False),
    ("parallel", "parallel_0", 'spotify_play(artist="Maroon 5", duration=15)\nspotify_play(artist="Taylor Swift", duration=20)', True),  # any order
    ("parallel", "parallel_0", 'spotify_play(artist="Taylor Swift", duration=20)', False),  # a call missing
    ("parallel_multiple", "parallel_multiple_0",
     "math_toolkit_product_of_primes(count=5)\nmath_toolkit_sum_of_multiples(lower_limit=1, upper_limit=1000, multiples=[3, 5])", True),
    ("parallel_multiple", "parallel_multiple_0", "math_toolkit_product_of_primes(count=5)", False),
    ("irrelevance", "irrelevance_0", "I cannot compute areas with these tools.", True),
    ("irrelevance", "irrelevance_0", "calculate_triangle_area(base=10\nnot a call", True),  # BFCL: nothing decodable is no call
    ("irrelevance", "irrelevance_0", "determine_body_mass_index(weight=70, height=1.8)", False),
])
def test_bfcls_own_checker_judges_our_answers(category, entry_id, text, valid):
    assert check(by_id(category)[entry_id], category, answer(text))["valid"] is valid


def test_the_offline_teachers_answers_pass_bfcls_checker():
    for category in TEST_CATEGORIES:
        for row in category_examples(category)[:10]:
            assert check(by_id(category)[row["id"]], category, row["gold"])["valid"], row["id"]
            assert check(by_id(category)[row["id"]], category, parse_answer(render_answer(row["gold"])))["valid"], row["id"]


def test_answers_reach_the_checker_in_its_decoded_format():
    assert decoded_output([{"name": "f", "arguments": {"a": 1}}, {"name": "g", "arguments": {}}]) == [{"f": {"a": 1}}, {"g": {}}]
    assert decoded_output("no call") == [] and decoded_output(None) is None


def test_official_scores_per_category_and_bfcls_unweighted_non_live_summary():
    rows = []
    for category, right, wrong in (("simple_python", 3, 1), ("multiple", 1, 1), ("parallel", 2, 0), ("parallel_multiple", 0, 2), ("irrelevance", 1, 1)):
        examples = category_examples(category)[: right + wrong]
        predictions = [row["gold"] for row in examples[:right]] + [
            [{"name": "nothing", "arguments": {}}] if category == "irrelevance" else "no call" for _ in examples[right:]]
        rows += [{"id": row["id"], "category": category, "prediction": p} for row, p in zip(examples, predictions)]
    metrics, verdicts = official_scores(rows)
    assert metrics == {"bfcl_simple_python": 0.75, "bfcl_multiple": 0.5, "bfcl_parallel": 1.0, "bfcl_parallel_multiple": 0.0,
                       "bfcl_irrelevance": 0.5, "bfcl_non_live_ast": round((0.75 + 0.5 + 1.0 + 0.0) / 4, 4)}  # not 6/10, by size
    assert verdicts == [True, True, True, False, True, False, True, True, False, False, True, False]
    assert "bfcl_non_live_ast" not in official_scores(rows[:4])[0]  # only with every AST category


def test_the_live_summary_is_weighted_by_size_as_bfcls():
    rows = [{"id": row["id"], "category": category, "prediction": row["gold"] if category == "live_simple" else None}
            for category, count in (("live_simple", 3), ("live_multiple", 1), ("live_parallel", 1), ("live_parallel_multiple", 1))
            for row in category_examples(category)[:count]]
    assert official_scores(rows)[0]["bfcl_live_ast"] == 0.5


def bfcl_task(**settings):
    return get_task("bfcl", None, BfclParams(**{"train_per_category": 5, "dev_fraction": 0.01, "test_per_category": 3, "train_irrelevance": None, "train_composed": 0, **settings}))


def test_the_splits_sample_each_category_and_keep_the_test_categories_out_of_training():
    splits = bfcl_task().generate(drawing(7))
    assert splits == bfcl_task().generate(drawing(7))
    assert splits["test"] != bfcl_task().generate(drawing(8))["test"]
    count = lambda split: {c: sum(e["category"] == c for e in splits[split]) for c in sorted({e["category"] for e in splits[split]})}  # noqa: E731
    assert count("test") == dict.fromkeys(sorted(TEST_CATEGORIES), 3)
    assert count("train") == dict.fromkeys(sorted(TRAIN_CATEGORIES), 5)
    assert count("dev") == {"live_irrelevance": 9, "live_multiple": 11, "live_parallel": 1, "live_parallel_multiple": 1, "live_simple": 3}
    assert not {e["id"] for e in splits["train"]} & {e["id"] for e in splits["dev"]}
    tested = {" ".join(e["input"].lower().split()) for c in TEST_CATEGORIES for e in category_examples(c)}
    live = [e for c in TRAIN_CATEGORIES for e in category_examples(c)]
    overlap = [e for e in live if " ".join(e["input"].lower().split()) in tested]
    assert overlap, "BFCL asks some live requests again in the non-live categories"
    everything = bfcl_task(train_per_category=None, test_per_category=None).generate(drawing(7))
    assert len(everything["test"]) == 1240
    trained = {e["id"] for split in ("train", "dev") for e in everything[split]}
    assert trained and not trained & {e["id"] for e in overlap}


def test_the_replay_teacher_tells_the_same_words_with_other_tools_apart():
    task = bfcl_task()
    same = {"input": "Weather in Paris?", "context": None, "category": "live_simple"}
    tools_a = converted("live_simple", "live_simple_2-2-0")["tools"]
    tools_b = converted("multiple", "multiple_5")["tools"]
    a = {**same, "id": "a", "tools": tools_a, "gold": [{"name": "uber_ride", "arguments": {}}]}
    b = {**same, "id": "b", "tools": tools_b, "gold": NO_CALL_REPLY}
    replay = ReplayBackend(task, [a, b])
    assert replay.complete(task.teacher_messages(a), tools_a)[0]["tool_calls"][0]["function"]["name"] == "uber_ride"
    assert replay.complete(task.teacher_messages(b), tools_b)[0]["content"] == NO_CALL_REPLY


def test_bfcl_report_pools_the_overall_interval_only_where_bfcls_mean_is_the_pooled_one():
    from supertiny.errors import SupertinyError
    from supertiny.bfcl_report import bfcl_report

    sizes = {"simple_python": 4, "multiple": 2, "parallel": 2, "parallel_multiple": 2, "irrelevance": 2}
    rows = [{"id": f"{c}_{i}", "category": c} for c, n in sizes.items() for i in range(n)]
    right = {"base": set(), "sft": {"simple_python_0", "multiple_0"}, "deployed": {r["id"] for r in rows}}
    scored = {name: [{**row, "official_correct": row["id"] in ids} for row in rows] for name, ids in right.items()}
    metrics = {name: {f"bfcl_{c}": sum(r["official_correct"] for r in scored[name] if r["category"] == c) / n for c, n in sizes.items()}
               for name in right}
    for name in metrics:
        metrics[name]["bfcl_non_live_ast"] = sum(metrics[name][f"bfcl_{c}"] for c in sizes if c != "irrelevance") / 4
    report = bfcl_report(metrics, scored, {"bfcl": {"test_per_category": None}, "sft": {"max_steps": 80}})
    assert report["models"]["sft"] == {**{f"{c}": metrics["sft"][f"bfcl_{c}"] for c in sizes}, "overall": 0.1875}
    assert report["examples"] == sizes and report["params"]["sft.max_steps"] == 80 and report["params"]["prune.max_steps"] is None
    base_to_sft = report["changes"][0]
    assert (base_to_sft["before"], base_to_sft["after"]) == ("base", "sft")
    assert base_to_sft["multiple"]["change"] == 0.5 and base_to_sft["parallel"]["change"] == 0.0
    assert "overall" not in base_to_sft  # simple_python is twice as large: pooling would not be BFCL's unweighted mean

    equal = {row["id"] for row in rows} - {"simple_python_2", "simple_python_3"}
    report = bfcl_report(metrics, {name: [row for row in scored[name] if row["id"] in equal] for name in scored}, {})
    assert report["changes"][1]["overall"]["change"] == 1.0 and report["examples"]["simple_python"] == 2

    with pytest.raises(SupertinyError, match="no BFCL scores for deployed"):
        bfcl_report({**metrics, "deployed": {"exact_match": 0.5}}, scored, {})


def test_the_committed_bfcl_report_is_one_run_scored_by_bfcls_own_summary():
    """reports/bfcl.json (README, BFCL: a measured run) is what `supertiny bfcl-report` wrote:
    each model's overall is BFCL's unweighted mean of the four AST categories, on the
    documented subset."""
    import json
    from pathlib import Path

    from supertiny.tasks.bfcl.checker import NON_LIVE_AST

    report = json.loads((Path(__file__).resolve().parents[1] / "reports/bfcl.json").read_text())
    assert set(report["models"]) == {"base", "sft", "deployed"}
    for scores in report["models"].values():
        assert scores["overall"] == pytest.approx(sum(scores[c] for c in NON_LIVE_AST) / 4, abs=1e-4)
    assert report["examples"] == dict.fromkeys(TEST_CATEGORIES, report["params"]["bfcl.test_per_category"])
    base_to_deployed = next(c for c in report["changes"] if (c["before"], c["after"]) == ("base", "deployed"))
    assert base_to_deployed["overall"]["change"] == pytest.approx(report["models"]["deployed"]["overall"] - report["models"]["base"]["overall"], abs=1e-3)


def test_composed_requests_join_one_call_train_requests_and_answer_with_all_their_calls():
    splits = bfcl_task(train_per_category=40, train_irrelevance=2, train_composed=30).generate(drawing(7))
    live = [e for e in splits["train"] if e["category"] != "composed"]
    composed = [e for e in splits["train"] if e["category"] == "composed"]
    assert sum(e["category"] == "live_irrelevance" for e in live) == 2 and sum(e["category"] == "live_simple" for e in live) == 40
    assert len(composed) == 30 and len({e["id"] for e in composed}) == 30
    parts = {e["id"]: e for e in live}
    for request in composed:
        chosen = [parts[i] for i in request["id"].removeprefix("composed_").split("+")]  # only train requests are joined
        assert 2 <= len(chosen) <= 3 and request["gold"] == [call for part in chosen for call in part["gold"]]
        assert all(part["input"].strip().rstrip(".")[1:] in request["input"] for part in chosen)
        assert not request["context"] and all(call_problem(call, schemas_by_name(request["tools"])) is None for call in request["gold"])
    same = [e for e in composed if len({call["name"] for call in e["gold"]}) == 1]
    assert same and len(same) < len(composed), "both BFCL's parallel (one function) and parallel_multiple (several)"
    assert splits == bfcl_task(train_per_category=40, train_irrelevance=2, train_composed=30).generate(drawing(7))
    assert splits["dev"] == bfcl_task(train_per_category=40).generate(drawing(7))["dev"]


def test_composing_needs_one_call_requests_to_join():
    from supertiny.errors import SupertinyError

    with pytest.raises(SupertinyError, match="bfcl.train_composed: 5 composed requests need at least 2"):
        composed_requests([converted("live_parallel", "live_parallel_0-0-0")], 5, "7")
    two = [converted("live_simple", "live_simple_2-2-0"), converted("live_simple", "live_simple_3-2-1")]
    assert len(composed_requests(two, 2, "7")) == 2  # both orders
    with pytest.raises(SupertinyError, match="5 composed requests asked, but the train split's 2 one-call requests .* gave 2 distinct ones"):
        composed_requests(two, 5, "7")
