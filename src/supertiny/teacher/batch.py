"""The teacher through an OpenAI-compatible Batch API (`teach.batch: true`): half the price,
answers within hours instead of seconds.

A tool loop needs each answer before it can ask its next question, so a batch cannot hold a
whole loop: each round of every loop still pending becomes one batch (a JSONL of chat
requests uploaded with `files.create`, run by `batches.create`, polled with
`batches.retrieve`, its answers read from the output file). Round 1 asks every example its
first question; round 2 the follow-ups of those that looked something up; and so on, up to
`teach.max_turns` rounds. The loops are the very same generator the other modes drive
(`teacher.loop.tool_loop`), so the traces are the same.

Paid answers go into the response cache like any others, keyed by request: before each
round the cache answers what it can (so nothing already paid for is sent), and a batch's id
is recorded as soon as it is submitted, so a run killed while it waits (hours, perhaps)
picks the same batch up on rerun instead of paying for it again. A line that failed
(5xx, 429, a broken completion, expired) goes into the next round, up to `teach.max_retries`
times; a refused request (other 4xx) or a failed batch (its input rejected) stops the run
with one line, like any request that fails for good.

File and batch calls use the SDK's own retries (`teach.max_retries`, honouring Retry-After);
the client-side rate limits do not apply (the Batch API has its own queue limits).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections import Counter

from tqdm import tqdm

from supertiny.errors import SupertinyError
from supertiny.params import TeachParams
from supertiny.teacher.cache import request_key
from supertiny.teacher.client import BadResponse, checked_completion
from supertiny.teacher.loop import tool_loop

ENDPOINT = "/v1/chat/completions"
MAX_REQUESTS = 50_000  # OpenAI's limit per batch; a larger round goes out as several batches at once
PENDING = ("validating", "in_progress", "finalizing", "cancelling")
FILE_TIMEOUT_S = 600.0  # uploads and downloads of up to 200 MB, not one chat reply


async def run_batched(backend, task, examples: list[dict], params: TeachParams, desc: str, finished_record) -> list[dict]:
    """The trace records of `examples`, in their order, every tool-loop round one batch;
    `finished_record(example, sample results, backend, params)` makes each record (teacher.run's,
    passed in so that this module does not import the one that imports it)."""
    client = backend.client
    loops, asked = {}, {}  # (example index, sample) -> its generator, and the (messages, tools) it asks now
    for index, example in enumerate(examples):
        for sample in range(params.samples):
            loops[index, sample] = tool_loop(task, example, params.max_turns)
            asked[index, sample] = next(loops[index, sample])
    results: list[list] = [[None] * params.samples for _ in examples]
    left = [params.samples] * len(examples)
    records: list[dict | None] = [None] * len(examples)
    answered_now: dict[str, dict] = {}  # paid in this run: for a run without a cache, and requests asked twice
    attempts: Counter = Counter()

    with tqdm(total=len(examples), desc=desc, unit="example") as bar:

        def advance(unit, reply_and_usage) -> None:
            try:
                asked[unit] = loops[unit].send(reply_and_usage)
            except StopIteration as done:
                del asked[unit]
                index, sample = unit
                results[index][sample] = done.value
                left[index] -= 1
                if not left[index]:
                    records[index] = finished_record(examples[index], results[index], backend, params)
                    bar.update(1)

        while asked:
            to_send: dict[str, dict] = {}
            for unit in list(asked):
                while unit in asked:  # as far as the answers already paid for go
                    request = backend.request(*asked[unit], unit[1])
                    key = request_key(client.base_url, request)
                    if key in answered_now:
                        advance(unit, backend.answer(answered_now[key], False))
                    elif (cached := client.cached(key)) is not None:
                        advance(unit, backend.answer(cached, False))
                    else:
                        to_send[key] = request
                        break
            if not to_send:
                continue
            answers, problems = await send_round(client, to_send, params)
            for key, response in answers.items():
                if client.cache is not None:
                    client.cache.put(key, response)
                answered_now[key] = response
                backend.answer(response, True)  # counts malformed tool calls once, as paid
            for key, problem in problems.items():
                attempts[key] += 1
                if attempts[key] > params.max_retries:
                    raise client.failed_for_good(problem)
                client.stats.add("retries")
    return records


async def send_round(client, requests: dict[str, dict], params: TeachParams) -> tuple[dict[str, dict], dict[str, str]]:
    """({key: checked completion}, {key: why it failed, to be retried}) for one round's requests."""
    keys = list(requests)
    chunks = [keys[i:i + MAX_REQUESTS] for i in range(0, len(keys), MAX_REQUESTS)]
    answers, problems = {}, {}
    for done in await asyncio.gather(*(send_batch(client, {k: requests[k] for k in chunk}, params) for chunk in chunks)):
        answers.update(done[0])
        problems.update(done[1])
    return answers, problems


async def send_batch(client, requests: dict[str, dict], params: TeachParams) -> tuple[dict[str, dict], dict[str, str]]:
    sdk = client.sdk.with_options(max_retries=params.max_retries, timeout=max(FILE_TIMEOUT_S, params.timeout_s))
    name = hashlib.sha256("\n".join(sorted(requests)).encode()).hexdigest()  # what a rerun asks again, in any order
    batch = await _resumed(sdk, client, name)
    if batch is None:
        lines = "".join(
            json.dumps({"custom_id": key, "method": "POST", "url": ENDPOINT, "body": request}, ensure_ascii=False) + "\n"
            for key, request in requests.items()
        )
        uploaded = await sdk.files.create(file=("teacher-round.jsonl", lines.encode("utf-8")), purpose="batch")
        batch = await sdk.batches.create(input_file_id=uploaded.id, endpoint=ENDPOINT, completion_window="24h")
        client.stats.add("batches_sent")
        client.stats.add("requests_sent", len(requests))
        if client.cache is not None:
            client.cache.remember_batch(name, batch.id)
    while batch.status in PENDING:
        await asyncio.sleep(params.batch_poll_s)
        batch = await sdk.batches.retrieve(batch.id)
    if batch.status == "failed":
        errors = "; ".join(client._redact(e.message or e.code or "") for e in (batch.errors.data if batch.errors else []) or [])
        if client.cache is not None:
            client.cache.remember_batch(name, None)
        raise SupertinyError(f"teach: batch {batch.id} failed ({errors[:300] or 'no reason given'})")
    answers, problems = {}, {}
    for file_id in (batch.output_file_id, batch.error_file_id):
        if file_id:
            content = await sdk.files.content(file_id)
            for line in content.content.decode("utf-8").splitlines():
                if line.strip():
                    _read_line(client, json.loads(line), requests, answers, problems)
    gone = "expired" if batch.status == "expired" else f"not answered by batch {batch.id} ({batch.status})"
    for key in requests:
        if key not in answers and key not in problems:
            kind = "timeout" if batch.status == "expired" else "server_error"
            client.stats.add(f"failures_{kind}")
            problems[key] = f"{kind}: {gone}"
    if client.cache is not None:
        client.cache.remember_batch(name, None)  # read back: what it answered is cached, the rest goes into the next round
    return answers, problems


async def _resumed(sdk, client, name: str):
    """The batch an earlier (killed) run submitted for these very requests, unless it came to nothing."""
    batch_id = client.cache.submitted_batch(name) if client.cache is not None else None
    if batch_id is None:
        return None
    batch = await sdk.batches.retrieve(batch_id)
    return batch if batch.status in (*PENDING, "completed") else None


def _read_line(client, line: dict, requests: dict, answers: dict, problems: dict) -> None:
    """One line of a batch's output or error file into `answers` or `problems` (counted by kind)."""
    key = line.get("custom_id")
    if key not in requests:
        return  # not ours (or garbled): its request counts as unanswered
    response = line.get("response") or {}
    status = response.get("status_code")
    if status == 200:
        try:
            answers[key] = checked_completion(json.dumps(response.get("body")).encode())
            return
        except BadResponse as error:
            kind, problem = "bad_response", str(error)
    elif status is not None and 400 <= status < 500 and status not in (408, 409, 429):
        message = ((response.get("body") or {}).get("error") or {}).get("message", "")
        raise SupertinyError(f"teach: {client.base_url or 'the OpenAI API'} answered {status} in a batch ({client._redact(str(message))[:300]})")
    else:
        kind = {429: "rate_limit", 408: "timeout"}.get(status, "server_error")
        problem = json.dumps(line.get("error") or response.get("body"))[:300]
    client.stats.add(f"failures_{kind}")
    problems[key] = f"{kind}: {client._redact(problem)}"
