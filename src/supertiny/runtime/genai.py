"""The deployed runtime: onnxruntime-genai over the quantized ONNX export of the student.

Chosen by measurement (README, Results; metrics/benchmark.json): on 2 cores its weight-only
int8/int4 kernels (MatMulNBits) and fused GroupQueryAttention over a preallocated KV cache
decode faster than PyTorch eager and plain onnxruntime, and it needs no torch at run time.
"""

from __future__ import annotations

import time
from pathlib import Path

from supertiny.modelcard import read_card
from supertiny.prompting import END_OF_TURN
from supertiny.runtime.files import weights_bytes
from supertiny.runtime.token_predictor import TokenPredictor

KIND = "ort-genai"


class GenaiModel:
    """Greedy generation with a KV cache, timed per request: prefill (to the first token)
    and decode (every later token) separately."""

    def __init__(self, folder: str | Path):
        import onnxruntime_genai as og
        from transformers import AutoTokenizer

        self._og = og
        self.model = og.Model(str(folder))
        self.tokenizer = AutoTokenizer.from_pretrained(folder)
        self.end_id = self.tokenizer.convert_tokens_to_ids(END_OF_TURN)

    def generate(self, ids: list[int], max_new_tokens: int) -> tuple[list[int], float, float, list[float]]:
        """(new token ids without the end-of-turn token, prefill seconds, decode seconds, log-probability
        of each chosen token, the end of turn included: the answer's confidence)."""
        params = self._og.GeneratorParams(self.model)
        params.set_search_options(max_length=len(ids) + max_new_tokens, do_sample=False)
        start = time.perf_counter()
        generator = self._og.Generator(self.model, params)
        generator.append_tokens(ids)
        new: list[int] = []
        logprobs: list[float] = []
        first = None
        while not generator.is_done() and len(new) < max_new_tokens:
            logits = generator.get_logits()[0, -1]  # the distribution the next token is chosen from
            generator.generate_next_token()
            token = int(generator.get_next_tokens()[0])
            first = first or time.perf_counter()
            logprobs.append(token_logprob(logits, token))
            if token == self.end_id:
                break
            new.append(token)
        end = time.perf_counter()
        return new, (first or end) - start, end - (first or end), logprobs

    def logits(self, ids: list[int]):
        """Logits (positions x vocabulary) of a whole sequence, as one prefill."""
        params = self._og.GeneratorParams(self.model)
        params.set_search_options(max_length=len(ids) + 1)
        generator = self._og.Generator(self.model, params)
        generator.append_tokens(ids)
        return generator.get_output("logits")[0]


def token_logprob(logits, token: int) -> float:
    """log softmax(logits)[token], in float64 (a 49k-way softmax in fp32 loses the small ones)."""
    import numpy as np

    values = np.asarray(logits, dtype=np.float64)
    top = values.max()
    return float(values[token] - top - np.log(np.exp(values - top).sum()))


class GenaiPredictor(TokenPredictor):
    """The deployed model (card kind `ort-genai`) answering task examples."""

    def __init__(self, folder: str | Path, task, max_new_tokens: int):
        runtime = GenaiModel(folder)
        super().__init__(runtime, runtime.tokenizer, task, max_new_tokens, read_card(folder).get("parameters"), weights_bytes(folder))
