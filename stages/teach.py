"""Stage teach: the prototype teacher answers the train inputs (traces) and dev (accuracy).

Every paid response is cached outside the stage's outs as it arrives (teach.cache_dir),
so a killed run loses nothing: the rerun replays it from the cache.
"""

from supertiny.jsonl import read_jsonl, write_json, write_jsonl
from supertiny.modelcard import write_card
from supertiny.params import as_dict, load_params
from supertiny.score import score_predictions
from supertiny.tasks import get_task
from supertiny.teacher.backends import make_backend
from supertiny.teacher.run import ESTIMATED_USAGE, EXAMPLE_KEYS, batched, run_teacher, usage_totals
from supertiny.stage import stage_main


@stage_main
def main() -> str:
    params = load_params()
    task = get_task(params.prepare.task, params.custom)
    train = read_jsonl("data/task/train.jsonl", required=EXAMPLE_KEYS)
    dev = read_jsonl("data/task/dev.jsonl", required=(*EXAMPLE_KEYS, "gold"))
    backend = make_backend(params.teach, task, answered=train + dev)

    traces = run_teacher(backend, task, train, params.teach, desc="teach train")
    dev_traces = run_teacher(backend, task, dev, params.teach, desc="teach dev")
    write_jsonl("data/traces/train.jsonl", traces)
    write_jsonl("data/traces/dev.jsonl", dev_traces)
    card = write_card(
        "models/teacher", kind="teacher", stage="teach", inputs={"train": "data/task/train.jsonl"},
        params=as_dict(params.teach), backend=backend.name, model=backend.model,
    )

    dev_scores = score_predictions(
        {"prediction": t["final"] if t["status"] == "ok" else None, "gold": e["gold"], "category": e["category"]}
        for t, e in zip(dev_traces, dev)
    )
    metrics = {
        "backend": card["backend"],
        "model": card["model"],
        "train_examples": len(traces),
        "finished_rate": round(sum(t["status"] == "ok" for t in traces) / max(1, len(traces)), 4),
        "dev_exact_match": dev_scores["exact_match"],
        "dev_similarity": dev_scores["similarity"],
        "usage_estimated": backend.name in ESTIMATED_USAGE,
        "mean_agreement": round(sum(t["agreement"] for t in traces) / max(1, len(traces)), 4),
        **usage_totals(traces, params.teach, batched(backend)),
        **backend.counters(),
    }
    write_json("metrics/teach.json", metrics)
    return f"data/traces: {len(traces)} traces ({metrics['finished_rate']:.0%} finished), teacher dev exact match {metrics['dev_exact_match']:.3f}"


if __name__ == "__main__":
    main()
