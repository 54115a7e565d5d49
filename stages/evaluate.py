"""Stage evaluate@<name>: accuracy, similarity and latency of one model on the test split,
its accuracy on each of the task's hand-written held-out sets (e.g. `handwritten_*`; not for
the models in evaluate.held_out_skip), and,
for a public benchmark (bfcl), the benchmark's own checker's scores (`bfcl_*`)."""

import sys

import torch

from supertiny.device import resolve_device
from supertiny.evaluation import evaluate_model
from supertiny.jsonl import read_jsonl, write_json, write_jsonl
from supertiny.modelcard import read_card
from supertiny.params import load_params
from supertiny.runtime.loading import load_predictor
from supertiny.tasks import get_task
from supertiny.stage import stage_main


@stage_main
def main(name: str, folder: str) -> str:
    params = load_params()
    settings = params.evaluate
    device = resolve_device(params.train.device)  # one process: evaluation does not train
    if settings.threads and device == "cpu":  # torch's CPU threads; a GPU does the work elsewhere
        torch.set_num_threads(settings.threads)
    task = get_task(params.prepare.task, params.custom)
    examples = read_jsonl(f"data/task/{settings.split}.jsonl", required=("id", "input", "context", "category", "gold"))
    examples = examples[: settings.limit] if settings.limit else examples
    held_out = {
        set_name: read_jsonl(f"data/task/{set_name}.jsonl", required=("id", "input", "context", "category", "gold"))[: settings.held_out_limit]
        for set_name in task.held_out_sets()
        if name not in settings.held_out_skip
    }
    card = read_card(folder)
    if card.get("kind") == "skipped":  # an optional stage that did not run
        write_jsonl(f"data/eval/{name}.jsonl", [])
        write_json(f"metrics/eval/{name}.json", {"skipped": True})
        return f"{name}: skipped (its stage did not run)"
    if card.get("same_as"):  # a stage switched off passed its input on: the same weights, scored there
        write_jsonl(f"data/eval/{name}.jsonl", [])
        write_json(f"metrics/eval/{name}.json", {"skipped": True, "same_as": card["same_as"]})
        return f"{name}: not scored (the same model as {card['same_as']})"
    predictor = load_predictor(folder, task, params.generation.max_new_tokens, settings.precision, constrained=params.generation.constrained,
                               device=device, confidence=params.generation.confidence)
    metrics, rows = evaluate_model(predictor, examples, settings.batch_size, settings.latency_samples, desc=f"evaluate {name}",
                                   split=settings.split, held_out=held_out)
    official, verdicts = task.official_scores(rows[: len(examples)])  # the split's rows come first
    metrics.update(official)
    for row, verdict in zip(rows, verdicts):
        row["official_correct"] = verdict
    write_jsonl(f"data/eval/{name}.jsonl", rows)
    write_json(f"metrics/eval/{name}.json", metrics)
    extra = "".join(f", {metrics[f'{set_name}_exact_match']:.3f} on {len(subset)} {set_name}" for set_name, subset in held_out.items())
    extra += "".join(f", {key} {value:.3f}" for key, value in official.items() if key in ("bfcl_non_live_ast", "bfcl_live_ast"))
    return (f"{name}: exact match {metrics['exact_match']:.3f}, similarity {metrics['similarity']:.3f} on {len(examples)} {settings.split} examples{extra}, "
            f"p50 latency {metrics.get('latency_ms_p50', 0):.0f} ms")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit("usage: python stages/evaluate.py NAME MODEL_FOLDER")
    main(sys.argv[1], sys.argv[2])
