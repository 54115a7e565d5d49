"""One worker thread owns the model; concurrent requests queue up and run in batches.

A model is not safe to call from several threads at once, and one batched forward pass
serves many requests for little more than the cost of one. The worker takes whatever
has queued while the previous batch ran (no waiting window, so a lone request is not
delayed), up to `max_batch` requests that share a `max_tokens`. A full queue refuses new
work at once (the server answers 503) instead of letting latency grow without bound.

One request must never fail another: a batch that raises is rerun one request at a time, so
only the request that fails alone gets the error. A job whose future was cancelled (its
client hung up while it waited) is dropped unrun.
"""

from __future__ import annotations

import queue
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field


class QueueFull(Exception):
    pass


@dataclass
class _Job:
    example: dict
    max_tokens: int
    future: Future = field(default_factory=Future)


class Batcher:
    def __init__(self, predictor, max_batch: int = 8, max_queue: int = 256):
        self.predictor = predictor
        self.max_batch = max_batch
        self._queue: queue.Queue[_Job] = queue.Queue(maxsize=max_queue)
        self._worker = threading.Thread(target=self._work, name="supertiny-model", daemon=True)
        self._worker.start()

    def submit(self, example: dict, max_tokens: int) -> Future:
        """The job's future; cancelling it before its batch starts drops the job unrun."""
        job = _Job(example, max_tokens)
        try:
            self._queue.put_nowait(job)
        except queue.Full:
            raise QueueFull from None
        return job.future

    def depth(self) -> int:
        return self._queue.qsize()

    def _work(self) -> None:
        pending: list[_Job] = []  # taken off the queue, not yet run
        while True:
            if not pending:
                pending.append(self._queue.get())
            while len(pending) < self.max_batch:
                try:
                    pending.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            pending = [job for job in pending if not job.future.cancelled()]  # their clients have gone
            if not pending:
                continue
            limit = pending[0].max_tokens
            batch = [job for job in pending if job.max_tokens == limit][: self.max_batch]
            pending = [job for job in pending if all(job is not chosen for chosen in batch)]
            self._run(batch, limit)

    def _run(self, batch: list[_Job], max_tokens: int) -> None:
        running = [job for job in batch if job.future.set_running_or_notify_cancel()]  # False: cancelled
        if running:
            self._settle(running, max_tokens)

    def _settle(self, jobs: list[_Job], max_tokens: int) -> None:
        """Answer `jobs` together; if that fails, one by one, so the error stays with its request."""
        try:
            predictions = self._predict([job.example for job in jobs], max_tokens)
        except Exception as error:
            if len(jobs) == 1:
                jobs[0].future.set_exception(error)
            else:
                for job in jobs:
                    self._settle([job], max_tokens)
            return
        for job, prediction in zip(jobs, predictions):
            job.future.set_result(prediction)

    def _predict(self, examples: list[dict], max_tokens: int) -> list:
        if hasattr(self.predictor, "max_new_tokens"):  # runtimes that generate honour the request's max_tokens
            self.predictor.max_new_tokens = max_tokens
        predictions = self.predictor.predict(examples, batch_size=len(examples))
        if len(predictions) != len(examples):
            raise RuntimeError(f"the predictor answered {len(predictions)} of {len(examples)} examples")
        return predictions
