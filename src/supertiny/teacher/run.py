"""Running the teacher over a split: concurrent tool loops, one trace record per example.

With `teach.samples` > 1 each input is answered by that many independent tool loops
(self-consistency) and the majority answer is kept. When the endpoint fails for good, no
new example is started and the error is raised: everything already paid for is in the
response cache, so a rerun resumes where this one stopped.

Three ways to run the loops, one result: a backend behind an endpoint (`acomplete`) keeps
`teach.concurrency` loops in flight as asyncio tasks on its client's request loop (hundreds
cost a coroutine each, not a thread each); with `teach.batch` it sends each round of every
pending loop as one Batch API job (`teacher.batch`); the offline backends (reference,
replay) only compute, and run on a few threads as they always have.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from tqdm import tqdm

from supertiny.params import TeachParams
from supertiny.teacher.loop import ChatBackend, TraceResult, Usage, arun_tool_loop, run_tool_loop

EXAMPLE_KEYS = ("id", "input", "context", "category")
ESTIMATED_USAGE = ("reference", "replay")  # backends without an endpoint: tokens estimated from the text
BATCH_PRICE_FACTOR = 0.5  # what the Batch API bills of the listed per-token prices (OpenAI: half)


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


def cost_usd(prompt_tokens: int, completion_tokens: int, params: TeachParams, batched: bool = False) -> float:
    """USD at the params' per-token prices; `batched`: answered through the Batch API, at its discount."""
    cost = (prompt_tokens * params.price_input_per_mtok + completion_tokens * params.price_output_per_mtok) / 1e6
    return cost * BATCH_PRICE_FACTOR if batched else cost


def batched(backend: ChatBackend) -> bool:
    """Whether `backend` answers through the Batch API (`teach.batch` with the openai backend)."""
    return bool(getattr(backend, "batch", False))


def finished_record(example: dict, results: list[TraceResult], backend: ChatBackend, params: TeachParams) -> dict:
    """The trace record of one example from its samples' tool loops."""
    result, agreement = majority(results)
    record = trace_record(example, result, backend, agreement, params.samples)
    cost = cost_usd(result.usage.prompt_tokens, result.usage.completion_tokens, params, batched(backend))
    record["usage"]["cost_usd"] = round(cost, 6)
    return record


def run_teacher(backend: ChatBackend, task, examples: list[dict], params: TeachParams, desc: str) -> list[dict]:
    if batched(backend):
        from supertiny.teacher.batch import run_batched

        return backend.client.run(run_batched(backend, task, examples, params, desc, finished_record))
    if hasattr(backend, "acomplete"):
        return backend.client.run(run_concurrently(backend, task, examples, params, desc))
    stop = threading.Event()

    def one(example: dict) -> dict | None:
        if stop.is_set():
            return None
        try:
            results = [run_tool_loop(backend, task, example, params.max_turns, sample) for sample in range(params.samples)]
        except BaseException:
            stop.set()  # failing for good (or a bug): start nothing new, finish what is in flight
            raise
        return finished_record(example, results, backend, params)

    with ThreadPoolExecutor(max_workers=params.concurrency) as pool:
        return list(tqdm(pool.map(one, examples), total=len(examples), desc=desc, unit="example"))


async def run_concurrently(backend, task, examples: list[dict], params: TeachParams, desc: str) -> list[dict]:
    """Every (example, sample) tool loop, `teach.concurrency` of them in flight, on the running event loop.

    `concurrency` workers take the loops in input order; the records keep it. The first loop
    that fails for good (or any bug) stops the workers from taking more; the loops in flight
    finish (what they pay for is cached), then its error is raised."""
    units = iter([(index, sample) for index in range(len(examples)) for sample in range(params.samples)])
    results: list[list] = [[None] * params.samples for _ in examples]
    left = [params.samples] * len(examples)
    records: list[dict | None] = [None] * len(examples)
    failures: list[BaseException] = []

    async def worker(bar) -> None:
        for index, sample in units:  # one shared iterator: each loop goes to one worker
            if failures:
                return
            try:
                results[index][sample] = await arun_tool_loop(backend, task, examples[index], params.max_turns, sample)
            except Exception as error:
                failures.append(error)
                return
            left[index] -= 1
            if not left[index]:
                records[index] = finished_record(examples[index], results[index], backend, params)
                bar.update(1)

    with tqdm(total=len(examples), desc=desc, unit="example") as bar:
        await asyncio.gather(*(worker(bar) for _ in range(min(params.concurrency, len(examples) * params.samples))))
    if failures:
        raise failures[0]
    return records


def usage_totals(traces: list[dict], params: TeachParams, batched: bool = False) -> dict[str, float]:
    prompt = sum(t["usage"]["prompt_tokens"] for t in traces)
    completion = sum(t["usage"]["completion_tokens"] for t in traces)
    cost = cost_usd(prompt, completion, params, batched)
    n = max(1, len(traces))
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "requests": sum(t["usage"]["requests"] for t in traces),
        "cost_usd": round(cost, 4),
        "cost_per_million_requests_usd": round(cost / n * 1e6, 2),
        "mean_turns": round(sum(t["turns"] for t in traces) / n, 3),
    }
