"""The Markdown report and the plot data: every model's metrics side by side, and what
the teacher costs next to what the student costs."""

from __future__ import annotations

_NOT_categories = {"held_out_phrasing", "seen_phrasing"}


def cost_per_million_requests(latency_ms: float, cpu_price_per_hour: float) -> float:
    """Serving cost of a model that handles one request at a time on the priced machine."""
    return latency_ms / 1000 / 3600 * cpu_price_per_hour * 1e6


def _fmt(value, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def model_rows(evaluations: dict[str, dict], cpu_price_per_hour: float, teacher_cost: float | None) -> list[dict]:
    rows = []
    for name, m in evaluations.items():
        cost = teacher_cost if name == "teacher" else cost_per_million_requests(m.get("latency_ms_p50", 0.0), cpu_price_per_hour)
        rows.append(
            {
                "model": name,
                "exact_match": m.get("exact_match"),
                "similarity": m.get("similarity"),
                "parse_rate": m.get("parse_rate"),
                "latency_ms_p50": m.get("latency_ms_p50"),
                "latency_ms_p95": m.get("latency_ms_p95"),
                "parameters": m.get("parameters"),
                "cost_per_million_requests_usd": round(cost, 2) if cost is not None else None,
            }
        )
    return rows


def render_report(title: str, evaluations: dict[str, dict], teach: dict, judge: dict, rows: list[dict]) -> str:
    lines = [f"# {title}", ""]
    lines += ["## Models on the test split", ""]
    lines += ["| model | exact match | similarity | parse rate | p50 ms | p95 ms | parameters | $ / 1M requests |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['model']} | {_fmt(r['exact_match'])} | {_fmt(r['similarity'])} | {_fmt(r['parse_rate'])} | "
            f"{_fmt(r['latency_ms_p50'], 1)} | {_fmt(r['latency_ms_p95'], 1)} | {_fmt(r['parameters'])} | "
            f"{_fmt(r['cost_per_million_requests_usd'], 2)} |"
        )
    categories = list(dict.fromkeys(
        key.removeprefix("exact_match_") for m in evaluations.values() for key in m
        if key.startswith("exact_match_") and key.removeprefix("exact_match_") not in _NOT_categories
    ))
    lines += ["", "## Exact match per category", ""]
    lines += ["| model | " + " | ".join(categories) + " | held-out phrasing |", "|---|" + "---|" * (len(categories) + 1)]
    for name, m in evaluations.items():
        cells = [_fmt(m.get(f"exact_match_{c}")) for c in categories] + [_fmt(m.get("exact_match_held_out_phrasing"))]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "## The prototype teacher", ""]
    estimated = " (estimated: the reference backend bills no tokens; 4 characters a token)" if teach.get("usage_estimated") else ""
    lines += [
        f"- backend `{teach.get('backend')}`, model `{teach.get('model')}`; dev exact match {_fmt(teach.get('dev_exact_match'))}",
        f"- tokens for {teach.get('train_examples')} train inputs{estimated}: {_fmt(teach.get('prompt_tokens'))} prompt, "
        f"{_fmt(teach.get('completion_tokens'))} completion, {_fmt(teach.get('mean_turns'), 2)} turns an input",
        f"- cost {_fmt(teach.get('cost_usd'), 2)} USD, {_fmt(teach.get('cost_per_million_requests_usd'), 2)} USD per million requests",
        f"- judge: {judge.get('accepted')} of {judge.get('traces')} traces accepted ({_fmt(judge.get('acceptance_rate'))}); "
        + ", ".join(f"{k.removeprefix('rejected_')}: {v}" for k, v in judge.items() if k.startswith("rejected_")),
        "",
    ]
    return "\n".join(lines)
