"""llama.cpp (llama-cpp-python) as a runtime: the benchmark's anchor, on the same weights
converted to GGUF. Prompts are tokenized by the student's tokenizer and fed as ids, so
all runtimes decode from identical tokens."""

from __future__ import annotations

import time
from pathlib import Path


def available() -> bool:
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        return False
    return True


class LlamaCppModel:
    """Greedy generation with llama.cpp's KV cache, timed like GenaiModel.generate."""

    def __init__(self, path: str | Path, end_id: int, threads: int = 2, context: int = 2048):
        from llama_cpp import Llama

        self.llm = Llama(model_path=str(path), n_ctx=context, n_batch=512, n_threads=threads, n_threads_batch=threads, verbose=False)
        self.end_id = end_id

    def generate(self, ids: list[int], max_new_tokens: int) -> tuple[list[int], float, float, list[float]]:
        start = time.perf_counter()
        new: list[int] = []
        first = None
        for token in self.llm.generate(ids, top_k=1, top_p=1.0, min_p=0.0, temp=0.0, reset=True):
            first = first or time.perf_counter()
            if token == self.end_id:
                break
            new.append(token)
            if len(new) >= max_new_tokens:
                break
        end = time.perf_counter()
        return new, (first or end) - start, end - (first or end), []  # no logits without slowing it down
