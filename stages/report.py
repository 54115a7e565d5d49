"""Stage report: the Markdown report and plot data from every evaluated model's metrics."""

import sys
from pathlib import Path

from supertiny.jsonl import atomic_write_text, read_json, write_json
from supertiny.params import load_params
from supertiny.report import category_rows, model_rows, render_report
from supertiny.stage import stage_main


@stage_main
def main(models: list[str]) -> str:
    params = load_params()
    settings = params.report
    evaluations = {name: read_json(f"metrics/eval/{name}.json") for name in models}
    evaluations = {name: m for name, m in evaluations.items() if not m.get("skipped")}
    teach, judge = read_json("metrics/teach.json"), read_json("metrics/judge.json")
    rows = model_rows(evaluations, settings.cpu_price_per_hour, teach.get("cost_per_million_requests_usd"))
    write_json("reports/models.json", rows)
    write_json("reports/categories.json", category_rows(evaluations))
    transfer = {stage: read_json(f"metrics/{stage}.json") for stage in ("sft", "rft", "distill", "rl") if Path(f"metrics/{stage}.json").exists()}
    compression = {stage: read_json(f"metrics/{stage}.json") for stage in ("prune", "quantize", "benchmark") if Path(f"metrics/{stage}.json").exists()}
    compression["source"] = params.prune.source
    cascade = read_json("metrics/cascade.json")
    report = render_report(settings.title, evaluations, teach, judge, rows, transfer=transfer, compression=compression, cascade=cascade)
    atomic_write_text("reports/report.md", report)
    return f"reports/report.md: {len(evaluations)} models"


if __name__ == "__main__":
    main(sys.argv[1:])
