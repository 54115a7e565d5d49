"""Stage prepare: the task's train/dev/test splits, generated (smart_home) or read from the
user's files and checked before anything is written (custom)."""

from collections import Counter

from supertiny.jsonl import write_json, write_jsonl
from supertiny.params import load_params
from supertiny.tasks import get_task
from supertiny.stage import stage_main


@stage_main
def main() -> str:
    params = load_params()
    settings = params.prepare
    task = get_task(settings.task, params.custom)
    sizes = {"train": settings.train_size, "dev": settings.dev_size, "test": settings.test_size}
    splits = task.generate(settings.seed, sizes, settings.typo_rate)
    metrics = {}
    for split, examples in splits.items():
        write_jsonl(f"data/task/{split}.jsonl", examples)
        metrics[f"{split}_examples"] = len(examples)
        for category, count in sorted(Counter(e["category"] for e in examples).items()):
            metrics[f"{split}_{category}"] = count
    write_json("metrics/prepare.json", metrics)
    return f"data/task: {len(splits['train'])} train, {len(splits['dev'])} dev, {len(splits['test'])} test examples"


if __name__ == "__main__":
    main()
