"""Running the teacher over a split: concurrent tool loops, one trace record per example.

With `teach.samples` > 1 each input is answered by that many independent tool loops
(self-consistency) and the majority answer is kept. When the endpoint fails for good, no
new example is started and the error is raised: everything already paid for is in the
response cache, so a rerun resumes where this one stopped.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from tqdm import tqdm

from supertiny.params import TeachParams
from supertiny.teacher.loop import ChatBackend, TraceResult, Usage, run_tool_loop

EXAMPLE_KEYS = ("id", "input", "context", "category")
ESTIMATED_USAGE = ("reference", "replay")  # backends without an endpoint: tokens estimated from the text


def trace_record(example: dict, result: TraceResult, backend: ChatBackend, agreement: float = 1.0, samples: int = 1) -> dict:
    """The trace in OpenAI chat format plus what the later stages need (docs/data-contracts.md);
    the example's own `tools`, where it has them, travel with it."""
    return {
        **{key: example[key] for key in EXAMPLE_KEYS},
        **({"tools": example["tools"]} if "tools" in example else {}),
        "messages": result.messages,
        "final": result.final,
        "status": result.status,
        "turns": result.turns,
        "usage": {
            "prompt_tokens": result.usage.prompt_tokens,
            "completion_tokens": result.usage.completion_tokens,
            "requests": result.usage.requests,
            "estimated": backend.name in ESTIMATED_USAGE,
        },
        "samples": samples,
        "agreement": agreement,
        "backend": backend.name,
        "model": backend.model,
    }


def answer_key(result: TraceResult) -> str | None:
    """Equal for equal answers (calls in any order); None for a loop that did not finish well."""
    if result.status != "ok" or result.final is None:
        return None
    if isinstance(result.final, str):
        return "reply:" + result.final
    return json.dumps(sorted(json.dumps(call, sort_keys=True) for call in result.final))


def majority(results: list[TraceResult]) -> tuple[TraceResult, float]:
    """The first loop that gave the most frequent finished answer, and that answer's share of the votes.

    The usage of every sample is billed to the kept trace.
    """
    keys = [answer_key(r) for r in results]
    votes = Counter(k for k in keys if k is not None)
    if votes:
        winner = max(votes, key=lambda k: (votes[k], -keys.index(k)))
        chosen, agreement = results[keys.index(winner)], votes[winner] / len(results)
    else:
        chosen, agreement = results[0], 0.0
    usage = Usage()
    for result in results:
        usage.prompt_tokens += result.usage.prompt_tokens
        usage.completion_tokens += result.usage.completion_tokens
        usage.requests += result.usage.requests
    return TraceResult(chosen.messages, chosen.final, chosen.status, chosen.turns, usage), round(agreement, 4)


def cost_usd(prompt_tokens: int, completion_tokens: int, params: TeachParams) -> float:
    return (prompt_tokens * params.price_input_per_mtok + completion_tokens * params.price_output_per_mtok) / 1e6


def run_teacher(backend: ChatBackend, task, examples: list[dict], params: TeachParams, desc: str) -> list[dict]:
    stop = threading.Event()

    def one(example: dict) -> dict | None:
        if stop.is_set():
            return None
        try:
            results = [run_tool_loop(backend, task, example, params.max_turns, sample) for sample in range(params.samples)]
        except BaseException:
            stop.set()  # failing for good (or a bug): start nothing new, finish what is in flight
            raise
        result, agreement = majority(results)
        record = trace_record(example, result, backend, agreement, params.samples)
        record["usage"]["cost_usd"] = round(cost_usd(result.usage.prompt_tokens, result.usage.completion_tokens, params), 6)
        return record

    with ThreadPoolExecutor(max_workers=params.concurrency) as pool:
        return list(tqdm(pool.map(one, examples), total=len(examples), desc=desc, unit="example"))


def usage_totals(traces: list[dict], params: TeachParams) -> dict[str, float]:
    prompt = sum(t["usage"]["prompt_tokens"] for t in traces)
    completion = sum(t["usage"]["completion_tokens"] for t in traces)
    cost = cost_usd(prompt, completion, params)
    n = max(1, len(traces))
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "requests": sum(t["usage"]["requests"] for t in traces),
        "cost_usd": round(cost, 4),
        "cost_per_million_requests_usd": round(cost / n * 1e6, 2),
        "mean_turns": round(sum(t["turns"] for t in traces) / n, 3),
    }
