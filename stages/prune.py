"""Stage prune: structured pruning of the best stage-2 model, then CKD recovery from it."""

import copy

from supertiny.changes import with_student_golds
from supertiny.checkpoints import count_parameters, load_model, save_model
from supertiny.compress.fidelity import answer_sequences, greedy_match, torch_logits
from supertiny.compress.prune import calibration_gradients, plan_pruning, prune_model
from supertiny.device import resolve_device, torch_device
from supertiny.errors import SupertinyError
from supertiny.jsonl import read_jsonl, write_json
from supertiny.launch import is_main_process, relaunch_under_accelerate
from supertiny.modelcard import read_card, write_card
from supertiny.params import as_dict, load_params
from supertiny.runtime.files import weights_bytes
from supertiny.stage import stage_main
from supertiny.tasks import get_task
from supertiny.train.ckd import train_ckd
from supertiny.train.sft import sft_rows


@stage_main
def main() -> str | None:
    params = load_params()
    settings = params.prune
    device = resolve_device(params.train.device)
    if read_card(settings.source).get("kind") != "hf":
        raise SupertinyError(f"params.yaml: prune.source {settings.source!r} is not a trained student model folder")
    if settings.max_steps:
        relaunch_under_accelerate(params.train)  # every process prunes alike (same data, same plan), then recovery trains on their shares
    task = get_task(params.prepare.task)
    traces = read_jsonl("data/judged/accepted.jsonl", required=("input", "context", "final"))
    dev = read_jsonl("data/task/dev.jsonl", required=("id", "input", "context", "gold"))[: settings.dev_examples]
    dev = with_student_golds(dev, read_jsonl("data/traces/dev.jsonl", required=("id", "final")))
    rows = sft_rows(task, traces, settings.max_examples, settings.seed)
    teacher, tokenizer = load_model(settings.source)
    teacher.to(torch_device(device))
    plan = plan_pruning(teacher, settings.target_ratio, settings.heads_per_group, settings.round_to)
    sequences = answer_sequences(tokenizer, task, dev)

    def dev_scores(model, label: str) -> dict:
        return {f"dev_{key}_{label}": value for key, value in greedy_match(torch_logits(model, sequences), sequences).items()}

    metrics = dev_scores(teacher, "source")
    pruned = copy.deepcopy(teacher)
    calibration_gradients(pruned, tokenizer, rows[: settings.calibration_examples], settings.importance)
    prune_model(pruned, plan, settings.importance)
    metrics |= dev_scores(pruned, "pruned")
    if settings.max_steps:  # recovery: the unpruned model teaches its pruned copy
        recovery = train_ckd(pruned, teacher, tokenizer, rows, settings, settings, params.train, "metrics/train/prune.json")
        if not is_main_process():
            return None
        metrics |= {f"recovery_{key}": value for key, value in recovery.items()}
    else:
        write_json("metrics/train/prune.json", [])
    metrics |= dev_scores(pruned, "recovered")
    save_model(pruned, tokenizer, "models/pruned")
    source_bytes = weights_bytes(settings.source)
    write_card(
        "models/pruned", kind="hf", stage="prune", inputs={"model": settings.source, "traces": "data/judged/accepted.jsonl"},
        params=as_dict(settings), parameters=count_parameters(pruned), plan=plan.as_dict(), source_bytes=source_bytes,
    )
    write_json("metrics/prune.json", {
        "parameters_before": plan.parameters_before,
        "parameters_after": plan.parameters_after,
        "parameter_ratio": round(plan.parameters_after / plan.parameters_before, 4),
        "intermediate_size": plan.intermediate_size,
        "attention_heads": plan.heads_per_group * plan.num_key_value_heads,
        "source_bytes": source_bytes,
        **metrics,
    })
    return (f"models/pruned: {plan.parameters_after / plan.parameters_before:.0%} of the parameters kept; dev greedy exact match "
            f"{metrics['dev_greedy_exact_match_source']} -> {metrics['dev_greedy_exact_match_pruned']} pruned -> {metrics['dev_greedy_exact_match_recovered']} recovered")


if __name__ == "__main__":
    main()
