"""The Markdown report and the plot data: every model's metrics side by side, and what
the teacher costs next to what the student costs."""

from __future__ import annotations

_NOT_categories = {"held_out_phrasing", "seen_phrasing"}


def cost_per_million_requests(latency_ms: float, cpu_price_per_hour: float) -> float:
    """Serving cost of a model that handles one request at a time on the priced machine."""
    return latency_ms / 1000 / 3600 * cpu_price_per_hour * 1e6


def category_names(evaluations: dict[str, dict]) -> list[str]:
    """The task's categories, in the order the metrics list them (`exact_match_<category>`)."""
    return list(dict.fromkeys(
        key.removeprefix("exact_match_") for m in evaluations.values() for key in m
        if key.startswith("exact_match_") and key.removeprefix("exact_match_") not in _NOT_categories
    ))


def held_out_names(evaluations: dict[str, dict]) -> list[str]:
    """The hand-written held-out sets the models were scored on (`<name>_exact_match` beside
    `<name>_examples`, as `evaluate` writes them), in the order the metrics list them."""
    return list(dict.fromkeys(
        key.removesuffix("_examples") for m in evaluations.values() for key in m
        if key.endswith("_examples") and f"{key.removesuffix('_examples')}_exact_match" in m
    ))


def category_rows(evaluations: dict[str, dict]) -> list[dict]:
    """Plot data for the per-category chart: one bar per (category, model), grouped by category;
    each row also carries the model's exact match on every hand-written set in that category."""
    held_out = held_out_names(evaluations)
    return [
        {"label": f"{category} · {name}", "category": category, "model": name, "exact_match": m.get(f"exact_match_{category}")}
        | {f"{h}_exact_match": m.get(f"{h}_exact_match_{category}") for h in held_out}
        for category in category_names(evaluations) for name, m in evaluations.items()
        if m.get(f"exact_match_{category}") is not None
    ]


def _fmt(value, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def model_rows(evaluations: dict[str, dict], cpu_price_per_hour: float, teacher_cost: float | None) -> list[dict]:
    held_out = held_out_names(evaluations)
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
            | {f"{h}_{key}": m.get(f"{h}_{key}") for h in held_out for key in ("exact_match", "similarity", "parse_rate")}
        )
    return rows


def held_out_lines(evaluations: dict[str, dict]) -> list[str]:
    """Per hand-written set: each model's test and hand-written figures side by side, overall and per category."""
    categories = category_names(evaluations)
    lines = []
    for h in held_out_names(evaluations):
        counts = {m[f"{h}_examples"] for m in evaluations.values() if f"{h}_examples" in m}
        lines += ["", f"## Test split and hand-written set `{h}` side by side", ""]
        lines += [f"Each cell: test / `{h}` ({', '.join(map(str, sorted(counts)))} examples written by hand, without the generator); "
                  "the category columns are exact match."]
        lines += ["", "| model | exact match | similarity | parse rate | " + " | ".join(categories) + " |", "|---|" + "---|" * (len(categories) + 3)]
        for name, m in evaluations.items():
            cells = [f"{_fmt(m.get(key))} / {_fmt(m.get(f'{h}_{key}'))}" for key in ("exact_match", "similarity", "parse_rate")]
            cells += [f"{_fmt(m.get(f'exact_match_{c}'), 2)} / {_fmt(m.get(f'{h}_exact_match_{c}'), 2)}" for c in categories]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def transfer_lines(evaluations: dict[str, dict], transfer: dict[str, dict]) -> list[str]:
    """What each knowledge-transfer stage did, next to the test exact match it moved."""
    def moved(name: str, before: str) -> str:
        if name not in evaluations or before not in evaluations:
            return ""
        delta = evaluations[name].get("exact_match", 0) - evaluations[before].get("exact_match", 0)
        return f"; test exact match {_fmt(evaluations[before].get('exact_match'))} → {_fmt(evaluations[name].get('exact_match'))} ({delta:+.3f})"

    lines = ["", "## Knowledge transfer", ""]
    if "sft" in transfer:
        sft = transfer["sft"]
        lines.append(f"- **sft**: {sft.get('steps')} steps on {sft.get('examples')} accepted traces, final loss {_fmt(sft.get('final_loss'), 4)}{moved('sft', 'base')}")

    def off(stage: str) -> bool:
        """A stage switched off (0 steps) passed its input on."""
        metrics = transfer.get(stage, {})
        if metrics.get("skipped") and metrics.get("same_as"):
            lines.append(f"- **{stage}**: off ({metrics.get('reason')}): the same model as {metrics['same_as'].removeprefix('models/')}")
        return bool(metrics.get("skipped") and metrics.get("same_as"))

    if not off("rft") and "rft" in transfer:
        rft = transfer["rft"]
        lines.append(
            f"- **rft**: {rft.get('samples')} samples on {rft.get('prompts')} prompts, {_fmt(rft.get('acceptance_rate'))} correct, "
            f"{_fmt(rft.get('solved_at_least_once'))} of prompts solved at least once, {rft.get('teacher_answers_used')} teacher answers used{moved('rft', 'sft')}"
        )
    if "distill" in transfer:
        distill = transfer["distill"]
        if distill.get("skipped"):
            lines.append("- **distill**: skipped (no `distill.teacher` set)")
        else:
            lines.append(f"- **distill**: CKD from `{distill.get('teacher')}` for {distill.get('steps')} steps, final loss {_fmt(distill.get('final_loss'), 4)}{moved('distill', 'rft')}")
    if not off("rl") and "rl" in transfer:
        rl = transfer["rl"]
        source = str(rl.get("source", "")).removeprefix("models/")
        lines.append(
            f"- **rl**: GRPO for {rl.get('steps')} steps from {source}, mean reward {_fmt(rl.get('reward_first_steps'))} (first steps) → "
            f"{_fmt(rl.get('reward_last_steps'))} (last steps), {_fmt(rl.get('frac_groups_filtered'))} of groups filtered{moved('rl', source)}"
        )
    return lines


def compression_lines(evaluations: dict[str, dict], rows: list[dict], compression: dict[str, dict]) -> list[str]:
    """The student, its pruned and its deployed form side by side, with the teacher's cost."""
    prune, quantize, bench = (compression.get(k, {}) for k in ("prune", "quantize", "benchmark"))
    student = str(compression.get("source", "")).removeprefix("models/")
    cost = {r["model"]: r["cost_per_million_requests_usd"] for r in rows}
    lines = ["", "## Compression", ""]
    lines += ["| model | parameters | file MB | exact match | p50 ms | p95 ms | prefill tok/s | decode tok/s | $ / 1M requests |", "|---|---|---|---|---|---|---|---|---|"]
    for name in (student, "pruned", "deployed"):
        m = evaluations.get(name)
        if m is None:
            continue
        size = m.get("model_bytes")
        lines.append(
            f"| {name} | {_fmt(m.get('parameters'))} | {_fmt(size / 1e6 if size else None, 1)} | {_fmt(m.get('exact_match'))} | "
            f"{_fmt(m.get('latency_ms_p50'), 1)} | {_fmt(m.get('latency_ms_p95'), 1)} | {_fmt(m.get('prefill_tokens_per_s'), 1)} | "
            f"{_fmt(m.get('decode_tokens_per_s'), 1)} | {_fmt(cost.get(name), 2)} |"
        )
    if "teacher" in cost:
        lines.append(f"| teacher (API tokens) | – | – | {_fmt(evaluations.get('teacher', {}).get('exact_match'))} | – | – | – | – | {_fmt(cost['teacher'], 2)} |")
    if student in evaluations and "deployed" in evaluations:
        s, d = evaluations[student], evaluations["deployed"]
        kept = d.get("exact_match", 0) / s["exact_match"] if s.get("exact_match") else None
        speedup = s["latency_ms_p50"] / d["latency_ms_p50"] if d.get("latency_ms_p50") else None
        size = d["model_bytes"] / s["model_bytes"] if s.get("model_bytes") and d.get("model_bytes") else None
        lines += ["", f"- deployed vs {student}: {_fmt(d.get('parameters', 0) / s['parameters'] if s.get('parameters') else None)} of the parameters, "
                  f"{_fmt(size)} of the file size, {_fmt(kept)} of the exact match, {_fmt(speedup, 2)}x lower median latency"]
    if prune:
        lines.append(
            f"- prune: {_fmt(prune.get('parameter_ratio'))} of the parameters kept (MLP width {prune.get('intermediate_size')}, "
            f"{prune.get('attention_heads')} query heads); dev greedy exact match (teacher-forced) {_fmt(prune.get('dev_greedy_exact_match_source'))} → "
            f"{_fmt(prune.get('dev_greedy_exact_match_pruned'))} pruned → {_fmt(prune.get('dev_greedy_exact_match_recovered'))} after {prune.get('recovery_steps', 0)} recovery steps"
        )
    if quantize:
        lines.append(f"- quantize: onnxruntime-genai {quantize.get('precision')}, top-1 agreement with PyTorch {_fmt(quantize.get('top1_agreement_vs_pytorch'))}")
    if bench:
        anchor = bench.get("decode_vs_llamacpp_same_bits")
        lines.append(
            f"- benchmark ({bench.get('requests')} requests, {bench.get('threads')} threads): median latency {_fmt(bench.get('speedup_p50_vs_pytorch_fp32'), 2)}x lower than the "
            f"same weights in PyTorch fp32, {_fmt(bench.get('speedup_p50_vs_student_fp32'), 2)}x lower than the fp32 student"
            + (f"; decode {_fmt(anchor, 2)}x llama.cpp's speed at the same bit-width" if anchor else f"; llama.cpp: {bench.get('llamacpp_skipped', '–')}")
        )
    return lines


def cascade_lines(cascade: dict) -> list[str]:
    """The deployed model with the teacher behind it, at the threshold calibrated on dev."""
    split = cascade.get("split", "test")
    others = [k.removesuffix("_handoff_share") for k in cascade if k.endswith("_handoff_share") and k.split("_")[0] not in ("dev", split)]
    reached = "reached" if cascade.get("target_reached_on_dev") else "not reached (the most accurate point instead)"
    sets = [split, *others]
    lines = [
        "", "## Cascade: the deployed model, the teacher behind it", "",
        f"Exact match on {' / '.join(sets)}; cost on {split}.", "",
        "| | exact match | $ / 1M requests |", "|---|---|---|",
        f"| deployed alone | {' / '.join(_fmt(cascade.get(f'{s}_exact_match_tiny')) for s in sets)} | {_fmt(cascade.get('cost_per_million_requests_tiny_usd'), 2)} |",
        f"| teacher alone | {' / '.join(_fmt(cascade.get(f'{s}_exact_match_teacher')) for s in sets)} | {_fmt(cascade.get('cost_per_million_requests_teacher_usd'), 2)} |",
        f"| cascade ({' / '.join(_fmt(cascade.get(f'{s}_handoff_share')) for s in sets)} handed off) | "
        f"{' / '.join(_fmt(cascade.get(f'{s}_exact_match_cascade')) for s in sets)} | {_fmt(cascade.get('cost_per_million_requests_cascade_usd'), 2)} |",
        "",
        f"- threshold {_fmt(cascade.get('threshold'))} on the answer's lowest token probability, picked on dev for a cascade exact match of "
        f"{_fmt(cascade.get('target_exact_match'))}: {reached}; dev hands off {_fmt(cascade.get('dev_handoff_share'))} for "
        f"{_fmt(cascade.get('dev_exact_match_cascade'))}. The whole curve: `dvc plots show reports/cascade_curve.json`.",
    ]
    return lines


def change_lines(changes: list[dict]) -> list[str]:
    """Each step's change in test exact match with its paired 95% bootstrap interval (intervals.py)."""
    lines = ["", "## What each step changed (paired bootstrap, 95%)", ""]
    lines += ["| step | set | exact match before → after | change | 95% interval | beyond noise |", "|---|---|---|---|---|---|"]
    for c in changes:
        lines.append(
            f"| {c['before']} → {c['after']} | {c.get('split', '')} | {_fmt(c['exact_match_before'])} → {_fmt(c['exact_match_after'])} | {c['change']:+.3f} | "
            f"{c['low']:+.3f} to {c['high']:+.3f} | {'yes' if c['significant'] else 'no'} |"
        )
    return lines


def render_report(title: str, evaluations: dict[str, dict], teach: dict, judge: dict, rows: list[dict], transfer: dict[str, dict] | None = None, compression: dict | None = None, cascade: dict | None = None, changes: list[dict] | None = None) -> str:
    lines = [f"# {title}", ""]
    lines += ["## Models on the test split", ""]
    lines += ["| model | exact match | similarity | parse rate | p50 ms | p95 ms | parameters | $ / 1M requests |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['model']} | {_fmt(r['exact_match'])} | {_fmt(r['similarity'])} | {_fmt(r['parse_rate'])} | "
            f"{_fmt(r['latency_ms_p50'], 1)} | {_fmt(r['latency_ms_p95'], 1)} | {_fmt(r['parameters'])} | "
            f"{_fmt(r['cost_per_million_requests_usd'], 2)} |"
        )
    categories = category_names(evaluations)
    lines += ["", "## Exact match per category", ""]
    lines += ["| model | " + " | ".join(categories) + " | held-out phrasing |", "|---|" + "---|" * (len(categories) + 1)]
    for name, m in evaluations.items():
        cells = [_fmt(m.get(f"exact_match_{c}")) for c in categories] + [_fmt(m.get("exact_match_held_out_phrasing"))]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += held_out_lines(evaluations)
    if changes:
        lines += change_lines(changes)
    if transfer:
        lines += transfer_lines(evaluations, transfer)
    if compression:
        lines += compression_lines(evaluations, rows, compression)
    if cascade:
        lines += cascade_lines(cascade)
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
