"""Stage report: the Markdown report and plot data from every evaluated model's metrics, and
every plot dvc.yaml declares drawn to reports/plots/*.svg (supertiny.plots).

The SVGs are drawn here because this is the last stage: it writes the model and category
plot data itself and depends on every other plot's data (the training curves, calibrate's
cascade curve; calibrate reads no output of this stage). dvc.yaml cannot be a dependency
(DVC refuses it), so editing a plot's definition alone reruns nothing: `dvc repro -f report`.
"""

import sys
from pathlib import Path

from supertiny.intervals import split_steps, step_changes
from supertiny.jsonl import atomic_write_text, read_json, read_jsonl, write_json
from supertiny.params import load_params
from supertiny.plots import SVG_DIR, markdown_lines, render
from supertiny.report import category_rows, model_rows, render_report
from supertiny.stage import stage_main


@stage_main
def main(models: list[str]) -> str:
    params = load_params()
    settings = params.report
    evaluations = {name: read_json(f"metrics/eval/{name}.json") for name in models}
    # a stage switched off passed its input on: its steps are measured from that model
    alias = {name: m["same_as"].removeprefix("models/") for name, m in evaluations.items() if m.get("same_as")}
    evaluations = {name: m for name, m in evaluations.items() if not m.get("skipped")}
    teach, judge = read_json("metrics/teach.json"), read_json("metrics/judge.json")
    rows = model_rows(evaluations, settings.cpu_price_per_hour, teach.get("cost_per_million_requests_usd"))
    write_json("reports/models.json", rows)
    write_json("reports/categories.json", category_rows(evaluations))
    transfer = {stage: read_json(f"metrics/{stage}.json") for stage in ("sft", "rft", "distill", "rl") if Path(f"metrics/{stage}.json").exists()}
    compression = {stage: read_json(f"metrics/{stage}.json") for stage in ("prune", "quantize", "benchmark") if Path(f"metrics/{stage}.json").exists()}
    source = params.prune.source.removeprefix("models/")
    compression["source"] = "models/" + alias.get(source, source)
    cascade = read_json("metrics/cascade.json")
    scored = {name: read_jsonl(f"data/eval/{name}.jsonl", required=("id", "correct")) for name in evaluations}
    main_split = params.evaluate.split
    splits = [main_split, *sorted({r["split"] for rows in scored.values() for r in rows if r.get("split", main_split) != main_split})]
    rl_source = str(transfer.get("rl", {}).get("source", "models/rft")).removeprefix("models/")
    chain = [("base", "sft"), ("sft", "rft"), ("rft", "distill"), (rl_source, "rl"), (source, "pruned"), ("pruned", "deployed"), ("deployed", "teacher")]
    changes = []
    for split in splits:
        correct = {name: {r["id"]: r["correct"] for r in rows if r.get("split", main_split) == split} for name, rows in scored.items()}
        steps = split_steps(chain, alias, {name for name, ids in correct.items() if ids})
        changes += [{"split": split, **change} for change in step_changes(correct, steps)]
    write_json("reports/intervals.json", {
        ("" if c["split"] == main_split else f"{c['split']}_") + f"{c['after']}_vs_{c['before']}": {k: v for k, v in c.items() if k not in ("split", "before", "after")}
        for c in changes
    })
    report = render_report(settings.title, evaluations, teach, judge, rows, transfer=transfer, compression=compression, cascade=cascade, changes=changes)
    drawn = render(".", SVG_DIR)
    atomic_write_text("reports/report.md", report + "\n".join(markdown_lines(drawn, "reports")) + "\n")
    return f"reports/report.md: {len(evaluations)} models; {SVG_DIR}: {len(drawn)} plots"


if __name__ == "__main__":
    main(sys.argv[1:])
