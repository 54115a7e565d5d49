"""Running the teacher over a split: concurrent tool loops, one trace record per example."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from tqdm import tqdm

from supertiny.params import TeachParams
from supertiny.teacher.loop import ChatBackend, run_tool_loop

EXAMPLE_KEYS = ("id", "input", "context", "category")


def trace_record(example: dict, result, backend: ChatBackend) -> dict:
    """The trace in OpenAI chat format plus what the later stages need (see DESIGN.md)."""
    return {
        **{key: example[key] for key in EXAMPLE_KEYS},
        "messages": result.messages,
        "final": result.final,
        "status": result.status,
        "turns": result.turns,
        "usage": {
            "prompt_tokens": result.usage.prompt_tokens,
            "completion_tokens": result.usage.completion_tokens,
            "requests": result.usage.requests,
            "estimated": backend.name == "reference",
        },
        "backend": backend.name,
        "model": backend.model,
    }


def run_teacher(backend: ChatBackend, task, examples: list[dict], params: TeachParams, desc: str) -> list[dict]:
    def one(example: dict) -> dict:
        return trace_record(example, run_tool_loop(backend, task, example, params.max_turns), backend)

    with ThreadPoolExecutor(max_workers=params.concurrency) as pool:
        return list(tqdm(pool.map(one, examples), total=len(examples), desc=desc, unit="example"))


def usage_totals(traces: list[dict], params: TeachParams) -> dict[str, float]:
    prompt = sum(t["usage"]["prompt_tokens"] for t in traces)
    completion = sum(t["usage"]["completion_tokens"] for t in traces)
    cost = (prompt * params.price_input_per_mtok + completion * params.price_output_per_mtok) / 1e6
    n = max(1, len(traces))
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "requests": sum(t["usage"]["requests"] for t in traces),
        "cost_usd": round(cost, 4),
        "cost_per_million_requests_usd": round(cost / n * 1e6, 2),
        "mean_turns": round(sum(t["turns"] for t in traces) / n, 3),
    }
