"""GRPO on trl's GRPOTrainer with the STAR Sim-RL similarity as reward.

The reward compares a sampled answer with the teacher's accepted answer: the Sim-RL
similarity in [0, 1], behind a format gate (unparseable text, an unknown function or an
unknown argument scores -1), so partial credit for nearly-right calls drives learning
where exact match would give no signal. Groups whose rewards are all equal carry no
signal either; dynamic filtering drops them from the loss instead of letting them dilute
the informative groups' tokens.
"""

from __future__ import annotations

import json
import random

import trl.trainer.utils as trl_utils
from datasets import Dataset
from trl import GRPOConfig, GRPOTrainer

from supertiny.prompting import student_messages
from supertiny.score import sim_rl
from supertiny.tool_format import Answer, parse_answer
from supertiny.device import resolve_device
from supertiny.params import TrainParams
from supertiny.train.common import per_device_batch, training_kwargs

FORMAT_PENALTY = -1.0


def format_violation(answer: Answer | None, schemas: dict[str, set[str]]) -> bool:
    """Unparseable, or a call to a function / with an argument the tools do not have."""
    if answer is None:
        return True
    if isinstance(answer, str):
        return False
    return any(call["name"] not in schemas or not set(call["arguments"]) <= schemas[call["name"]] for call in answer)


def tool_call_reward(text: str, reference: Answer, tools: list[dict]) -> float:
    answer = parse_answer(text, tools)
    if format_violation(answer, argument_names(tools)):
        return FORMAT_PENALTY
    return sim_rl(answer, reference)


def argument_names(tools: list[dict]) -> dict[str, set[str]]:
    return {t["function"]["name"]: set(t["function"].get("parameters", {}).get("properties", {})) for t in tools}


class SimilarityReward:
    """trl reward function: one float per completion; `reference` is a dataset column (JSON),
    and so is `tools` where the task's requests bring their own tool sets."""

    __name__ = "sim_rl"

    def __init__(self, task, varies: bool = False):
        self.tools = None if varies else task.action_tools

    def __call__(self, prompts, completions, reference, tools=None, **kwargs) -> list[float]:
        texts = [c[-1]["content"] if isinstance(c, list) else c for c in completions]
        tool_sets = [json.loads(t) for t in tools] if tools is not None else [self.tools] * len(texts)
        return [tool_call_reward(text, json.loads(ref), tool_set) for text, ref, tool_set in zip(texts, reference, tool_sets)]


class FilteringGRPOTrainer(GRPOTrainer):
    """GRPOTrainer with dynamic filtering: completions of groups whose rewards are all equal
    leave the loss (mask zeroed, token count recomputed), as in DAPO's dynamic sampling."""

    def __init__(self, *args, dynamic_filtering: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.dynamic_filtering = dynamic_filtering

    def _generate_and_score_completions(self, inputs):
        output = super()._generate_and_score_completions(inputs)
        if not self.dynamic_filtering:
            return output
        advantages = output["advantages"]
        flat = advantages.view(-1, self.num_generations) if advantages.dim() == 1 else advantages.view(-1, self.num_generations, *advantages.shape[1:])
        no_signal = (flat.reshape(flat.shape[0], -1) == 0).all(dim=1).repeat_interleave(self.num_generations)
        mode = "train" if self.model.training else "eval"
        self._metrics[mode]["frac_groups_filtered"].append(no_signal.float().mean().item())
        if no_signal.all():
            return output  # nothing informative: the loss is zero either way
        keep = (~no_signal).to(output["completion_mask"].dtype).unsqueeze(1)
        output["completion_mask"] = output["completion_mask"] * keep
        if output.get("num_items_in_batch") is not None:
            output["num_items_in_batch"] = self.accelerator.gather(output["completion_mask"].sum()).sum()
        return output


def score_completion_positions_only() -> None:
    """Make trl's fused LM head project only the completion positions on CPU as well.

    trl scores every position (prompt included) unless Triton is available, to keep tile
    shapes fixed for compilers; eager CPU gains nothing from that and pays the vocabulary
    projection, forward and backward, for every prompt token: a GRPO step took about twice
    as long. The kernel itself keeps its own Triton check, so it stays on the torch tiles."""
    original = getattr(trl_utils._use_triton, "__wrapped__", trl_utils._use_triton)

    def compact_on_cpu(device) -> bool:
        return original(device) or device.type == "cpu"

    compact_on_cpu.__wrapped__ = original
    trl_utils._use_triton = compact_on_cpu


def rl_rows(task, traces: list[dict], limit: int, seed: int) -> list[dict]:
    """Prompt and reference answer per sampled trace, and its tools where traces carry their own."""
    chosen = random.Random(seed).sample(traces, min(limit, len(traces)))
    return [
        {"prompt": student_messages(task, t), "reference": json.dumps(t["final"]), **({"tools": json.dumps(t["tools"])} if "tools" in t else {})}
        for t in chosen
    ]


def make_grpo_trainer(
    model, tokenizer, task, rows: list[dict], work_dir: str, callbacks=(), *, steps: int, prompts_per_step: int,
    group_size: int, learning_rate: float, beta: float, temperature: float, max_new_tokens: int,
    dynamic_filtering: bool, precision: str, seed: int, train: TrainParams,
) -> GRPOTrainer:
    """GRPO over `rows` (prompt + JSON reference answer): each step samples `group_size`
    answers for each of `prompts_per_step` prompts and scores them with the Sim-RL reward
    (over all of `train.processes`: each samples its share)."""
    config = GRPOConfig(
        output_dir=work_dir,
        max_steps=steps,
        per_device_train_batch_size=per_device_batch(prompts_per_step * group_size, train),
        num_generations=group_size,
        learning_rate=learning_rate,
        lr_scheduler_type="constant",
        beta=beta,
        temperature=temperature,
        max_completion_length=max_new_tokens,
        pad_to_multiple_of=32,
        **training_kwargs(precision, seed, train),
    )
    tokenizer.padding_side = "left"
    if resolve_device(train.device) == "cpu":  # on a GPU trl's own choice stands
        score_completion_positions_only()
    return FilteringGRPOTrainer(
        model=model, args=config, reward_funcs=[SimilarityReward(task, varies=bool(rows) and "tools" in rows[0])],
        train_dataset=Dataset.from_list(rows),
        processing_class=tokenizer, callbacks=list(callbacks), dynamic_filtering=dynamic_filtering,
    )


def first_and_last(rows: list[dict], key: str, window: int = 3) -> tuple[float | None, float | None]:
    """Mean of `key` over the first and the last `window` logged steps."""
    values = [row[key] for row in rows if key in row]
    if not values:
        return None, None
    window = max(1, min(window, len(values) // 2 or 1))
    return round(sum(values[:window]) / window, 4), round(sum(values[-window:]) / window, 4)
