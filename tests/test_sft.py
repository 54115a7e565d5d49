"""SFT on the tiny preset: what the loss covers, that it matches the plain loss, that it trains."""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys

import pytest
import torch

from presets import ROOT, drawing, train_settings, training, write_tiny_params
from reference_teacher import reference_teacher_traces
from supertiny.errors import SupertinyError
from supertiny.prompting import END_OF_TURN
from supertiny.train.sft import make_sft_trainer, sft_rows, train_sft, trained_answers


@pytest.fixture
def rows(sft_rows_small):
    return sft_rows_small


def test_the_loss_covers_the_answer_and_its_end_of_turn_token_only(tiny_student, rows, tmp_path):
    model, tokenizer = tiny_student
    trainer = make_sft_trainer(copy.deepcopy(model), tokenizer, rows, training(max_steps=1, precision="fp32"), train_settings(), str(tmp_path))
    end_id = tokenizer.convert_tokens_to_ids(END_OF_TURN)
    for row, encoded in zip(rows[:8], trainer.train_dataset):
        ids = encoded["input_ids"]
        mask = [label != -100 for label in encoded["labels"]]  # trl builds the loss mask as labels
        completion = tokenizer.decode([t for t, m in zip(ids, mask) if m])
        assert completion.startswith(row["completion"][0]["content"])
        assert completion.rstrip("\n").endswith(END_OF_TURN)
        assert end_id in [t for t, m in zip(ids, mask) if m]
        prompt = tokenizer.decode([t for t, m in zip(ids, mask) if not m])
        assert row["prompt"][1]["content"] in prompt and row["completion"][0]["content"] not in prompt


def test_no_rows_is_a_one_line_error_before_any_training(tiny_student, tmp_path):
    """A caller with nothing to train on (the sft stage stops earlier, naming the judge's file)
    hears so, not an IndexError from deep inside the trainer's set-up."""
    model, tokenizer = tiny_student
    with pytest.raises(SupertinyError, match="no training rows"):
        make_sft_trainer(model, tokenizer, [], training(max_steps=1, precision="fp32"), train_settings(), str(tmp_path))
    assert not any(tmp_path.iterdir())


def test_completion_only_loss_equals_the_plain_masked_loss(tiny_student, rows, tmp_path):
    model, tokenizer = tiny_student
    trainer = make_sft_trainer(copy.deepcopy(model), tokenizer, rows, training(max_steps=1, precision="fp32", batch_size=4), train_settings(), str(tmp_path))
    batch = next(iter(trainer.get_train_dataloader()))
    assert (batch["labels"] != -100).sum() < (batch["attention_mask"] == 1).sum() / 2
    with torch.no_grad():
        ours = trainer.compute_loss(trainer.model, dict(batch))
        plain = trainer.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=batch["labels"]).loss
    assert ours.item() == pytest.approx(plain.item(), rel=1e-4)


def test_training_lowers_the_loss_and_writes_curves(tiny_student, rows, tmp_path):
    model, tokenizer = tiny_student
    model = copy.deepcopy(model)
    before = [p.detach().clone() for p in model.parameters()]
    params = training(max_steps=8, batch_size=4, learning_rate=3e-3, precision="fp32")
    metrics = train_sft(model, tokenizer, rows, params, train_settings(), str(tmp_path / "work"), str(tmp_path / "curves.json"))
    curves = json.loads((tmp_path / "curves.json").read_text())
    assert [row["step"] for row in curves] == list(range(1, 9))
    assert curves[-1]["loss"] < curves[0]["loss"]
    assert metrics["steps"] == 8 and metrics["examples"] == len(rows)
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))


def test_neftune_noises_the_embeddings_while_training_only(tiny_student, rows, tmp_path):
    """`sft.neftune_noise_alpha`: the same seeded run with noise ends on other weights; the hook is
    gone afterwards, so the saved model embeds a prompt exactly as before training."""
    model, tokenizer = tiny_student
    params = training(max_steps=2, batch_size=4, learning_rate=3e-3, precision="fp32")
    trained = {}
    for alpha in (None, 5.0):
        trained[alpha] = copy.deepcopy(model)
        train_sft(trained[alpha], tokenizer, rows, params, train_settings(), str(tmp_path / f"work{alpha}"), str(tmp_path / f"c{alpha}.json"),
                  neftune_noise_alpha=alpha)
    assert any(not torch.equal(a, b) for a, b in zip(trained[None].parameters(), trained[5.0].parameters()))
    embeddings = trained[5.0].get_input_embeddings()
    embeddings.train()
    ids = torch.tensor([[1, 2, 3]])
    assert torch.equal(embeddings(ids), embeddings.weight[ids])


@pytest.fixture(scope="module")
def home_traces(task):
    """The reference teacher's traces for 12 train requests asked four at a time of three homes."""
    return reference_teacher_traces(task, task.generate(drawing(11, {"train": 12, "dev": 6, "test": 6}, train_requests_per_home=4))["train"])


def test_traces_sharing_a_home_are_packed_as_the_turns_of_one_conversation(task, home_traces):
    single = sft_rows(task, home_traces, max_examples=None, seed=0)
    packed = sft_rows(task, home_traces, max_examples=None, seed=0, turns_per_sequence=4)
    assert len(single) == 12 and all(set(row) == {"prompt", "completion"} for row in single)
    assert len(packed) == 3 and trained_answers(packed) == 12
    turns = {}
    for row in packed:
        system, *rest = row["messages"]
        assert system["role"] == "system" and [m["role"] for m in rest] == ["user", "assistant"] * 4
        for user, answer in zip(rest[::2], rest[1::2]):
            turns[(system["content"], user["content"])] = answer["content"]
    assert turns == {(row["prompt"][0]["content"], row["prompt"][1]["content"]): row["completion"][0]["content"] for row in single}
    assert len(sft_rows(task, home_traces, max_examples=None, seed=0, turns_per_sequence=3)) == 6  # 4 a home: 3 + 1


def test_every_answer_of_a_packed_conversation_is_trained_and_nothing_else(tiny_student, task, home_traces, tmp_path):
    model, tokenizer = tiny_student
    packed = sft_rows(task, home_traces, max_examples=None, seed=0, turns_per_sequence=4)
    trainer = make_sft_trainer(copy.deepcopy(model), tokenizer, packed, training(max_steps=1, precision="fp32"), train_settings(), str(tmp_path))
    for row, encoded in zip(packed, trainer.train_dataset):
        trained = tokenizer.decode([t for t, label in zip(encoded["input_ids"], encoded["labels"]) if label != -100])
        answers = [m["content"] for m in row["messages"] if m["role"] == "assistant"]
        assert trained == "".join(answer + END_OF_TURN for answer in answers)
    metrics = train_sft(copy.deepcopy(model), tokenizer, packed, training(max_steps=2, batch_size=2, precision="fp32"), train_settings(),
                        str(tmp_path / "work"), str(tmp_path / "curves.json"))
    assert metrics["examples"] == 12 and metrics["sequences"] == 3 and metrics["answers_cut"] == 0


def test_answers_past_max_length_are_counted_and_warned_about(tiny_student, task, home_traces, tmp_path, capsys):
    """A packed conversation longer than max_length loses its last answers to trl's truncation:
    sft says how many in its metrics and on stderr instead of training on less in silence."""
    model, tokenizer = tiny_student
    packed = sft_rows(task, home_traces, max_examples=None, seed=0, turns_per_sequence=4)
    lengths = [len(tokenizer.apply_chat_template(row["messages"], tokenize=True)) for row in packed]
    settings = training(max_steps=1, batch_size=1, precision="fp32", max_length=min(lengths) - 40)  # every last answer past it
    metrics = train_sft(copy.deepcopy(model), tokenizer, packed, settings, train_settings(), str(tmp_path / "work"), str(tmp_path / "curves.json"))
    assert 3 <= metrics["answers_cut"] < metrics["examples"] == 12
    assert f"{metrics['answers_cut']} of 12 answers run past max_length ({settings.max_length} tokens)" in capsys.readouterr().err


def test_the_sft_stage_stops_in_one_line_when_the_judge_accepted_nothing(tmp_path):
    """A judge that rejects every trace (a strict llm_judge on a new feature) stops sft before
    it loads a model, naming the file, and leaves the judge's outputs as they were."""
    shutil.copy(ROOT / "params.yaml", tmp_path / "params.yaml")
    write_tiny_params(tmp_path / "params.yaml")
    judged = tmp_path / "data/judged"
    judged.mkdir(parents=True)
    (judged / "accepted.jsonl").write_text("")
    (judged / "rejected.jsonl").write_text('{"input": "turn it on", "reasons": ["no device"]}\n')
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    result = subprocess.run([sys.executable, str(ROOT / "stages/sft.py")], cwd=tmp_path, capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 2, result.stderr
    errors = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    assert errors == ["supertiny: error: data/judged/accepted.jsonl: no accepted traces to train on "
                      "(metrics/judge.json and data/judged/rejected.jsonl say why)"], errors
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "params.yaml"]  # no model or metrics written
    assert (judged / "rejected.jsonl").read_text().count("\n") == 1
