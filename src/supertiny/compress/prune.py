"""Structured pruning of a Llama-style student (Llama, Qwen2, Qwen3, Mistral) to a parameter ratio.

MLP channels go through torch-pruning's dependency graph (MetaPruner with group magnitude,
Taylor or Fisher (OBD) importance), the same count in every layer so that one `intermediate_size`
still describes the model. Query heads are removed with torch-pruning's low-level linear
pruners, the same number in every KV group: `prune_num_heads` hangs on grouped-query
attention (Torch-Pruning#527), and transformers maps query head h to KV head
h // (heads / kv_heads), so the groups must stay whole and equal. head_dim is kept (rotary
embeddings depend on it) and written to the config explicitly, since heads x head_dim no
longer equals hidden_size. Keeping head_dim is also what leaves Qwen2's q biases (pruned with
their rows by the linear pruner) and Qwen3's per-head q_norm/k_norm (over head_dim) valid.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass
from typing import Callable

import torch
import torch_pruning as tp
from tqdm import tqdm

from supertiny.checkpoints import count_parameters
from supertiny.errors import SupertinyError
from supertiny.prompting import answer_ids


@dataclass(frozen=True)
class Importance:
    """How one importance scores: the gradient `calibration_gradients` leaves in `.grad` for it
    (None: none; "sum": g summed over the examples; "mean_square": E[g²]), the per-weight term
    summed over a query head's q rows and o columns, and torch-pruning's group scorer for MLP
    channels."""

    gradient: str | None
    head_term: Callable[[torch.Tensor], torch.Tensor]
    mlp_scorer: Callable[[], object]


IMPORTANCES = {  # params.py's prune.importance Literal lists the same names (tests/test_prune.py checks)
    "magnitude": Importance(None, lambda w: w.pow(2), lambda: tp.importance.GroupMagnitudeImportance(p=2)),  # group L2: w²
    "taylor": Importance("sum", lambda w: (w * w.grad).abs(), tp.importance.GroupTaylorImportance),  # |w · g|
    # Fisher (OBD) w² · E[g²]: GroupHessianImportance with nothing accumulated in it reads E[g²] from `.grad`
    "fisher": Importance("mean_square", lambda w: w.pow(2) * w.grad, tp.importance.GroupHessianImportance),
}


def _importance(name: str) -> Importance:
    if name not in IMPORTANCES:
        raise SupertinyError(f"params.yaml: prune.importance must be one of {', '.join(IMPORTANCES)}; got {name!r}")
    return IMPORTANCES[name]


@dataclass(frozen=True)
class PrunePlan:
    """What the pruned model will look like, decided (and checked) before any weight moves."""

    heads_per_group: int
    num_key_value_heads: int
    intermediate_size: int
    parameters_before: int
    parameters_after: int

    def as_dict(self) -> dict:
        return asdict(self)


def _shape(model) -> tuple[int, int, int, int, int, int]:
    """(layers, hidden, heads, kv_heads, head_dim, intermediate) of a supported model."""
    config = model.config
    layers = getattr(getattr(model, "model", None), "layers", None)
    if layers is None or not all(hasattr(layer, "self_attn") and hasattr(layer, "mlp") for layer in layers):
        raise SupertinyError(f"prune: unsupported architecture {config.model_type!r} (needs Llama-style decoder layers)")
    for layer in layers:
        names = ("q_proj", "k_proj", "v_proj", "o_proj")
        if not all(isinstance(getattr(layer.self_attn, n, None), torch.nn.Linear) for n in names) or not all(
            isinstance(getattr(layer.mlp, n, None), torch.nn.Linear) for n in ("gate_proj", "up_proj", "down_proj")
        ):
            raise SupertinyError(f"prune: unsupported architecture {config.model_type!r} (needs q/k/v/o and gate/up/down projections)")
    heads, kv_heads = config.num_attention_heads, config.num_key_value_heads
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // heads
    return len(layers), config.hidden_size, heads, kv_heads, head_dim, config.intermediate_size


def plan_pruning(model, target_ratio: float, heads_per_group: int | None, round_to: int) -> PrunePlan:
    """Choose query heads per KV group and MLP width so that parameters <= target_ratio x now.

    Heads are fixed by `heads_per_group` (None keeps them); the MLP absorbs the rest of the
    cut, its width rounded down to a multiple of `round_to` (so the ratio never overshoots).
    """
    layers, hidden, heads, kv_heads, head_dim, intermediate = _shape(model)
    group = heads // kv_heads
    keep_heads = group if heads_per_group is None else heads_per_group
    if not 1 <= keep_heads <= group:
        raise SupertinyError(
            f"params.yaml: prune.heads_per_group must be within [1, {group}] for this model "
            f"({heads} query heads in {kv_heads} KV groups); got {heads_per_group}"
        )
    before = count_parameters(model)
    first = model.model.layers[0]
    q_bias = first.self_attn.q_proj.bias is not None
    per_head = head_dim * hidden * 2 + (head_dim if q_bias else 0)  # q rows (+bias) and o columns
    mlp_bias = first.mlp.gate_proj.bias is not None
    per_channel = 3 * hidden + (2 if mlp_bias else 0)
    heads_cut = layers * kv_heads * (group - keep_heads) * per_head
    budget = before * target_ratio
    channels_cut = max(0.0, before - heads_cut - budget) / (layers * per_channel)
    keep_channels = int((intermediate - channels_cut) // round_to * round_to)
    if before - heads_cut <= budget:
        keep_channels = intermediate  # the heads alone reach the target
    if keep_channels < round_to:
        raise SupertinyError(
            f"params.yaml: prune.target_ratio {target_ratio} needs an MLP narrower than prune.round_to "
            f"({round_to}) in every layer: raise the ratio or prune more heads"
        )
    after = before - heads_cut - layers * (intermediate - keep_channels) * per_channel
    return PrunePlan(keep_heads, kv_heads, keep_channels, before, after)


def calibration_gradients(model, tokenizer, rows: list[dict], importance: str) -> None:
    """Leave in each parameter's `.grad` what `importance` reads, from the answer-token loss of
    `rows`: channels are then ranked by what they contribute to this task, not by weight size
    (magnitude pruning of SmolLM2 at 0.8 loses almost every token, Taylor keeps most of them).

    taylor: the summed gradient g (scored |w · g|). fisher: the mean per-example squared
    gradient E[g²], the empirical Fisher's diagonal standing in for the Hessian's in Optimal
    Brain Damage (scored w² · E[g²]). At a fine-tuned model the examples' gradients point
    every way and their sum cancels; their squares do not. torch-pruning's own
    GroupHessianImportance.accumulate_grad keeps only the last example (1.6.1 keys its
    running sum by parameter but looks it up by name), so the squares are summed here.
    magnitude reads no gradient."""
    gradient = _importance(importance).gradient
    if gradient is None:
        return
    if not rows:
        raise SupertinyError(f"prune: {importance} importance needs calibration examples (data/judged/accepted.jsonl has none)")
    model.zero_grad(set_to_none=True)
    squares = {p: torch.zeros_like(p) for p in model.parameters() if p.requires_grad} if gradient == "mean_square" else {}
    model.train()
    for row in tqdm(rows, desc=f"prune: {importance} importance", unit="example"):
        full, start = answer_ids(tokenizer, row["prompt"], row["completion"])
        ids = torch.tensor([full], device=model.device)
        labels = ids.clone()
        labels[0, :start] = -100
        model(input_ids=ids, labels=labels, use_cache=False).loss.backward()
        if squares:
            for parameter, total in squares.items():
                if parameter.grad is not None:
                    total += parameter.grad.pow(2)
            model.zero_grad(set_to_none=True)
    for parameter, total in squares.items():
        parameter.grad = total / len(rows)
    model.eval()


def _head_scores(layer, head_dim: int, importance: str) -> torch.Tensor:
    """One score per query head over its q rows and o columns: group L2 magnitude w², Taylor
    |w · g| or Fisher w² · E[g²] (`calibration_gradients` left g or E[g²] in `.grad`)."""
    q, o = layer.self_attn.q_proj.weight, layer.self_attn.o_proj.weight
    terms = _importance(importance).head_term
    return terms(q).view(-1, head_dim, q.shape[1]).sum((1, 2)) + terms(o).view(o.shape[0], -1, head_dim).sum((0, 2))


@torch.no_grad()
def _prune_heads(layer, plan: PrunePlan, head_dim: int, scores: torch.Tensor) -> None:
    group = scores.numel() // plan.num_key_value_heads
    keep = []
    for g in range(plan.num_key_value_heads):
        best = scores[g * group : (g + 1) * group].topk(plan.heads_per_group).indices + g * group
        keep += sorted(best.tolist())  # each group's kept heads stay contiguous, in order
    drop = sorted(set(range(scores.numel())) - set(keep))
    channels = [h * head_dim + i for h in drop for i in range(head_dim)]
    attention = layer.self_attn
    tp.prune_linear_out_channels(attention.q_proj, channels)
    tp.prune_linear_in_channels(attention.o_proj, channels)
    attention.num_key_value_groups = plan.heads_per_group


def _prune_mlp(model, plan: PrunePlan, importance: str) -> None:
    intermediate = model.config.intermediate_size
    if plan.intermediate_size == intermediate:
        return
    ignored = [model.get_input_embeddings(), model.get_output_embeddings()]
    for layer in model.model.layers:
        attention = layer.self_attn
        ignored += [attention.q_proj, attention.k_proj, attention.v_proj, attention.o_proj]
    scorer = _importance(importance).mlp_scorer()
    example = torch.zeros((1, 8), dtype=torch.long, device=model.device)
    settings = dict(
        model=model, example_inputs=example, importance=scorer, global_pruning=False,
        # torch-pruning keeps int(width x (1 - ratio)) channels: aim half a channel high against
        # float round-down; the plan has already rounded the width to a multiple of round_to
        pruning_ratio=(intermediate - plan.intermediate_size - 0.5) / intermediate,
        ignored_layers=ignored, forward_fn=lambda m, x: m(input_ids=x, use_cache=False).logits,
    )
    with warnings.catch_warnings():  # it warns that RMSNorm weights are "unwrapped": they are not pruned here
        warnings.simplefilter("ignore", UserWarning)
        pruner = tp.pruner.MetaPruner(**settings)
    pruner.step()


def prune_model(model, plan: PrunePlan, importance: str = "magnitude") -> None:
    """Prune in place to `plan` and update the config so that it reloads with
    `AutoModelForCausalLM.from_pretrained`. Taylor and Fisher importance need
    `calibration_gradients` first."""
    _importance(importance)  # an unknown name stops here, before any weight moves
    _, _, heads, _, head_dim, _ = _shape(model)
    scores = [_head_scores(layer, head_dim, importance) for layer in model.model.layers]
    _prune_mlp(model, plan, importance)
    for layer, layer_scores in zip(model.model.layers, scores):
        if plan.heads_per_group * plan.num_key_value_heads < heads:
            _prune_heads(layer, plan, head_dim, layer_scores)
    model.zero_grad(set_to_none=True)
    config = model.config
    config.head_dim = head_dim
    config.num_attention_heads = plan.heads_per_group * plan.num_key_value_heads
    config.intermediate_size = plan.intermediate_size
    widths = {layer.mlp.gate_proj.out_features for layer in model.model.layers}
    parameters = count_parameters(model)
    if widths != {plan.intermediate_size} or parameters != plan.parameters_after:
        raise RuntimeError(f"pruning missed its plan: MLP widths {sorted(widths)}, {parameters:,} parameters, plan {plan}")
