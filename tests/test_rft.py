"""RFT: scoring sampled answers against the teacher's and choosing what to train on."""

from __future__ import annotations

import json

from supertiny.tool_format import render_answer
from supertiny.train.rft import sample_answers, score_samples, select_rft_rows

REFERENCE = [{"name": "set_power", "arguments": {"device": "kitchen_light", "on": True}}]
RIGHT = render_answer(REFERENCE)
RIGHT_OTHER_SPACING = 'set_power(on=true,device=kitchen_light)'
WRONG_DEVICE = render_answer([{"name": "set_power", "arguments": {"device": "kitchen_lamp", "on": True}}])
BROKEN = 'set_power(device='


def test_scores_are_exact_match_and_similarity_against_the_teacher_answer():
    scored = score_samples([RIGHT, WRONG_DEVICE, BROKEN], REFERENCE)
    assert [s.correct for s in scored] == [True, False, False]
    assert scored[0].score == 1.0 and scored[2].score == 0.0 and scored[2].answer is None
    assert 0.0 < scored[1].score < 1.0  # the `on` argument matches, the device is a near miss


def test_selection_keeps_a_correct_student_sample_else_the_teacher_answer(task, splits):
    traces = [{**e, "final": REFERENCE} for e in splits["train"][:3]]
    groups = [
        score_samples([WRONG_DEVICE, RIGHT_OTHER_SPACING, RIGHT], REFERENCE),  # solved twice: one row
        score_samples([WRONG_DEVICE, BROKEN], REFERENCE),  # never solved: the teacher's answer
        score_samples([RIGHT_OTHER_SPACING], REFERENCE),  # solved, in the student's own words
    ]
    rows, metrics = select_rft_rows(task, traces, groups, seed=0)
    completions = {row["prompt"][1]["content"]: row["completion"][0]["content"] for row in rows}
    assert len(rows) == 3
    assert completions[traces[0]["input"]] == RIGHT_OTHER_SPACING  # the shorter of two equally scored correct samples
    assert completions[traces[1]["input"]] == RIGHT  # rendered teacher answer
    assert completions[traces[2]["input"]] == RIGHT_OTHER_SPACING
    assert metrics == {
        "prompts": 3, "samples": 6, "acceptance_rate": round(3 / 6, 4), "solved_at_least_once": round(2 / 3, 4),
        "teacher_answers_used": 1, "mean_sample_similarity": metrics["mean_sample_similarity"],
    }
    assert 0 < metrics["mean_sample_similarity"] < 1


def test_sampling_returns_k_texts_per_prompt_and_varies(tiny_student, task, splits):
    model, tokenizer = tiny_student
    texts = sample_answers(model, tokenizer, task, splits["train"][:3], n=4, temperature=1.0, top_p=1.0,
                           max_new_tokens=6, batch_size=8, seed=0)
    assert [len(group) for group in texts] == [4, 4, 4]
    assert len({t for group in texts for t in group}) > 1, "sampling, not greedy decoding"
    again = sample_answers(model, tokenizer, task, splits["train"][:3], n=4, temperature=1.0, top_p=1.0,
                           max_new_tokens=6, batch_size=8, seed=0)
    assert json.dumps(texts) == json.dumps(again), "seeded"
