"""Stage calibrate: the confidence threshold below which the deployed model hands a request to
the teacher, picked on dev; the cascade's accuracy, hand-off share and cost on the test split
and on each hand-written set the evaluate stage scored."""

from tqdm import tqdm

from supertiny.cascade import Answered, at_threshold, blended_cost_per_million, cascade_curve, pick_threshold, usable_confidence
from supertiny.evaluation import latency_summary, timed_request
from supertiny.jsonl import read_json, read_jsonl, write_json
from supertiny.params import load_params
from supertiny.report import cost_per_million_requests
from supertiny.runtime.loading import load_predictor
from supertiny.score import exact_match
from supertiny.stage import stage_main
from supertiny.tasks import get_task

DEPLOYED = "models/deployed"


@stage_main
def main() -> str:
    params = load_params()
    task = get_task(params.prepare.task)
    dev = read_jsonl("data/task/dev.jsonl", required=("id", "input", "context", "gold"))
    teacher_dev = {t["id"]: t for t in read_jsonl("data/traces/dev.jsonl", required=("id", "final", "status"))}
    predictor = load_predictor(DEPLOYED, task, params.generation.max_new_tokens, constrained=params.generation.constrained,
                               confidence=params.generation.confidence)
    seconds, predictions = [], []
    for example in tqdm(dev, desc="calibrate on dev", unit="request"):
        elapsed, answer = timed_request(predictor, example)
        seconds.append(elapsed)
        predictions += answer
    dev_rows = [
        Answered(
            usable_confidence(p.answer, p.confidence),
            exact_match(p.answer, e["gold"]),
            teacher_dev[e["id"]]["status"] == "ok" and exact_match(teacher_dev[e["id"]]["final"], e["gold"]),
        )
        for e, p in zip(dev, predictions)
    ]
    dev_curve = cascade_curve(dev_rows)
    chosen, reached = pick_threshold(dev_curve, params.cascade.target_exact_match)

    split = params.evaluate.split
    teacher = {(r.get("split", split), r["id"]): r["correct"] for r in read_jsonl("data/eval/teacher.jsonl", required=("id", "correct"))}
    scored: dict[str, list[Answered]] = {}
    for r in read_jsonl("data/eval/deployed.jsonl", required=("id", "correct", "prediction")):
        name = r.get("split", split)
        scored.setdefault(name, []).append(Answered(usable_confidence(r["prediction"], r.get("confidence")), r["correct"], teacher[name, r["id"]]))
    applied = {name: at_threshold(rows, chosen["threshold"]) for name, rows in scored.items()}  # the test split, and any hand-written set

    latency = latency_summary(seconds, predictions)
    tiny_cost = cost_per_million_requests(latency["latency_ms_p50"], params.report.cpu_price_per_hour)
    teacher_cost = read_json("metrics/teach.json")["cost_per_million_requests_usd"]
    cascade_cost = blended_cost_per_million(applied[split]["handoff_share"], tiny_cost, teacher_cost)
    metrics = {
        "split": split,
        "target_exact_match": params.cascade.target_exact_match,
        "target_reached_on_dev": reached,
        "threshold": chosen["threshold"],
        "confidence": params.generation.confidence,  # serve refuses a threshold picked on another confidence
        "dev_handoff_share": chosen["handoff_share"],
        "dev_exact_match_cascade": chosen["exact_match"],
    }
    for name, rows in scored.items():
        metrics |= {
            f"{name}_handoff_share": applied[name]["handoff_share"],
            f"{name}_exact_match_tiny": round(sum(r.tiny_correct for r in rows) / len(rows), 4),
            f"{name}_exact_match_teacher": round(sum(r.teacher_correct for r in rows) / len(rows), 4),
            f"{name}_exact_match_cascade": applied[name]["exact_match"],
        }
    metrics |= {
        "cost_per_million_requests_tiny_usd": round(tiny_cost, 2),
        "cost_per_million_requests_teacher_usd": teacher_cost,
        "cost_per_million_requests_cascade_usd": round(cascade_cost, 2),
        "cascade_cost_per_million_vs_teacher": round(cascade_cost / teacher_cost, 4) if teacher_cost else None,
    }
    write_json("metrics/cascade.json", metrics)
    curves = [{"split": "dev", **p} for p in dev_curve] + [{"split": name, **p} for name, rows in scored.items() for p in cascade_curve(rows)]
    write_json("reports/cascade_curve.json", curves)
    test = applied[split]
    return (f"metrics/cascade.json: threshold {chosen['threshold']:.3f} hands off {test['handoff_share']:.0%} of {split}; "
            f"cascade exact match {test['exact_match']:.3f} (tiny alone {metrics[f'{split}_exact_match_tiny']:.3f}, "
            f"teacher {metrics[f'{split}_exact_match_teacher']:.3f}) at ${cascade_cost:.0f} per million requests")


if __name__ == "__main__":
    main()
