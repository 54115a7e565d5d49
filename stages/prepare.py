"""Stage prepare: the task's train/dev/test splits, generated (smart_home), read from the
user's files and checked before anything is written (custom) or sampled from BFCL's data
(bfcl), the requests of the hand-off logs added to train, and the task's hand-written
held-out sets, checked and copied."""

from collections import Counter

from supertiny.handoffs import add_handoffs, read_handoffs
from supertiny.held_out import check_kept_out, held_out_requests, load_held_out_sets
from supertiny.jsonl import write_json, write_jsonl
from supertiny.params import load_params
from supertiny.tasks import get_task
from supertiny.stage import stage_main


DECLARED_HELD_OUT = ("handwritten", "blind")  # prepare's outs in dvc.yaml: a task without such a set writes it empty


@stage_main
def main() -> str:
    params = load_params()
    settings = params.prepare
    task = get_task(settings.task, params.custom, params.bfcl)
    held_out = load_held_out_sets(task)  # checked first: a bad row stops the stage before anything is written
    handoffs = read_handoffs(settings.handoffs, task)
    splits = task.generate(settings, held_out_requests(held_out))
    check_kept_out(held_out, splits)
    from_production = add_handoffs(handoffs, splits, held_out, task.action_tools) if handoffs else {}
    metrics = {}
    for name in DECLARED_HELD_OUT:
        if name not in held_out:
            write_jsonl(f"data/task/{name}.jsonl", [])  # dvc.yaml's outs exist for every task; no metrics for an empty set
    for split, examples in {**splits, **held_out}.items():
        write_jsonl(f"data/task/{split}.jsonl", examples)
        metrics[f"{split}_examples"] = len(examples)
        for category, count in sorted(Counter(e["category"] for e in examples).items()):
            metrics[f"{split}_{category}"] = count
    metrics.update(from_production)
    write_json("metrics/prepare.json", metrics)
    extra = "".join(f", {len(examples)} {name}" for name, examples in held_out.items())
    if handoffs:
        extra += f"; train has {from_production['handoffs_added']} of {len(handoffs)} logged hand-offs"
    return f"data/task: {len(splits['train'])} train, {len(splits['dev'])} dev, {len(splits['test'])} test examples{extra}"


if __name__ == "__main__":
    main()
