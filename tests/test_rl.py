"""GRPO: the Sim-RL reward with its format gate, and dynamic filtering on the tiny preset."""

from __future__ import annotations

import copy
import json

import pytest
import torch
from trl import GRPOTrainer

from supertiny.tool_format import render_answer
from supertiny.train.rl import FORMAT_PENALTY, FilteringGRPOTrainer, SimilarityReward, make_grpo_trainer, rl_rows
from presets import shipped

REFERENCE = [
    {"name": "set_power", "arguments": {"device": "kitchen_light", "on": True}},
    {"name": "set_brightness", "arguments": {"device": "kitchen_light", "level": 40}},
]


@pytest.fixture(scope="module")
def reward(task):
    return SimilarityReward(task)


def score(reward, text, reference=REFERENCE):
    return reward(prompts=[None], completions=[[{"role": "assistant", "content": text}]], reference=[json.dumps(reference)])[0]


def test_format_gate(reward):
    assert score(reward, 'set_power(device=') == FORMAT_PENALTY
    assert score(reward, render_answer([{"name": "explode", "arguments": {}}])) == FORMAT_PENALTY
    assert score(reward, render_answer([{"name": "set_power", "arguments": {"device": "kitchen_light", "on": True, "colour": "red"}}])) == FORMAT_PENALTY


def test_reward_is_the_sim_rl_similarity(reward):
    assert score(reward, render_answer(REFERENCE)) == 1.0
    # one of two gold calls, exactly: 1 matched similarity / (1 predicted + 1 unmatched gold)
    assert score(reward, render_answer(REFERENCE[:1])) == pytest.approx(0.5)
    # right call, wrong level: (1 + 0) / 2 argument keys -> 0.5, plus the exact set_power -> (1 + 0.5) / 2
    near = [REFERENCE[0], {"name": "set_brightness", "arguments": {"device": "kitchen_light", "level": 45}}]
    assert score(reward, render_answer(near)) == pytest.approx(0.75)
    assert score(reward, "Sorry, I can't help with that.", "Sorry, I can only help with the home.") > 0
    assert score(reward, "Sorry, I can't do that.") == 0.0  # a reply where calls were due


def test_grpo_trains_and_filters_groups_without_signal(tiny_student, task, teacher_traces, tmp_path):
    model, tokenizer = tiny_student
    model = copy.deepcopy(model)
    trainer = make_grpo_trainer(
        model, tokenizer, task, rl_rows(task, teacher_traces, 8, 0), str(tmp_path), steps=2, prompts_per_step=2, group_size=2,
        learning_rate=1e-4, beta=0.0, temperature=1.0, max_new_tokens=8, dynamic_filtering=True, precision="fp32", seed=0, train=shipped().train,
    )
    trainer.train()
    logged = [row for row in trainer.state.log_history if "reward" in row]
    assert len(logged) == 2
    # a random tiny model never writes a parseable call: every group is all -1, so all are filtered
    assert all(row["reward"] == FORMAT_PENALTY or row["reward"] <= 0 for row in logged)
    assert all(row["frac_groups_filtered"] == 1.0 for row in logged)


def test_dynamic_filtering_masks_only_groups_whose_rewards_are_all_equal(monkeypatch):
    scored = {
        "advantages": torch.tensor([0.0, 0.0, 0.7, -0.7, 0.0, 0.0]),  # groups of 2: no signal, signal, no signal
        "completion_mask": torch.ones(6, 3, dtype=torch.long),
        "num_items_in_batch": torch.tensor(18),
    }
    monkeypatch.setattr(GRPOTrainer, "_generate_and_score_completions", lambda self, inputs: dict(scored))
    trainer = FilteringGRPOTrainer.__new__(FilteringGRPOTrainer)
    trainer.dynamic_filtering, trainer.num_generations = True, 2
    trainer.model = torch.nn.Linear(1, 1)
    trainer._metrics = {"train": {"frac_groups_filtered": []}}

    class Accelerator:
        @staticmethod
        def gather(tensor):
            return tensor.reshape(1)

    trainer.accelerator = Accelerator()
    output = trainer._generate_and_score_completions(None)
    assert output["completion_mask"].sum(dim=1).tolist() == [0, 0, 3, 3, 0, 0]
    assert int(output["num_items_in_batch"]) == 6
    assert trainer._metrics["train"]["frac_groups_filtered"] == [pytest.approx(2 / 3)]


def test_completion_only_scoring_matches_trls_every_position_path(tiny_student, monkeypatch):
    """The CPU speed-up changes which positions are projected, not the log-probs or gradients."""
    import trl.trainer.utils as trl_utils
    from trl.trainer.utils import add_fused_lm_head

    from supertiny.train.rl import score_completion_positions_only

    model = copy.deepcopy(tiny_student[0])
    add_fused_lm_head(model, outputs=("log_probs",))
    input_ids = torch.randint(0, model.config.vocab_size, (3, 12), generator=torch.Generator().manual_seed(0))
    labels = input_ids.clone()
    labels[:, :7] = -100  # the prompt
    labels[0, -2:] = -100  # padding after a short completion

    def log_probs_and_grad():
        model.zero_grad()
        out = model(input_ids=input_ids, labels=labels, fused_lm_head=True)
        out.log_probs.sum().backward()
        return out.log_probs.detach(), model.lm_head.weight.grad.clone()

    monkeypatch.setattr(trl_utils, "_use_triton", lambda device: False)
    full, full_grad = log_probs_and_grad()
    score_completion_positions_only()
    assert trl_utils._use_triton(torch.device("cpu"))
    compact, compact_grad = log_probs_and_grad()
    assert (full[:, 6:] != 0).any() and (full[:, :6] == 0).all()
    torch.testing.assert_close(compact, full)
    torch.testing.assert_close(compact_grad, full_grad)


def test_where_requests_vary_their_tools_each_answer_is_gated_by_its_own(task):
    from supertiny.tasks import get_task

    note = {"type": "function", "function": {"name": "add_note", "parameters": {"type": "object", "properties": {"text": {"type": "string"}}}}}
    traces = [{"input": "note: call back", "context": None, "final": [{"name": "add_note", "arguments": {"text": "call back"}}], "tools": [note]}]
    [row] = rl_rows(get_task("custom"), traces, limit=1, seed=0)
    assert json.loads(row["tools"]) == [note] and "add_note(text?: string)" in row["prompt"][0]["content"]
    varying = SimilarityReward(get_task("custom"), varies=True)  # needs no tools of the task's own
    texts = [[{"role": "assistant", "content": render_answer(traces[0]["final"])}], [{"role": "assistant", "content": "set_timer(minutes=5)"}]]
    rewards = varying(prompts=[None, None], completions=texts, reference=[row["reference"]] * 2, tools=[row["tools"]] * 2)
    assert rewards == [1.0, FORMAT_PENALTY]
