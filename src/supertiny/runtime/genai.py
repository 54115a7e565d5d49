"""The deployed runtime: onnxruntime-genai over the quantized ONNX export of the student.

Chosen by measurement (README, Results; metrics/benchmark.json): on 2 cores its weight-only
int8/int4 kernels (MatMulNBits) and fused GroupQueryAttention over a preallocated KV cache
decode faster than PyTorch eager and plain onnxruntime, and it needs no torch at run time.
"""

from __future__ import annotations

import time
from pathlib import Path

from supertiny.answer_grammar import answer_grammar
from supertiny.modelcard import read_card
from supertiny.prompting import END_OF_TURN
from supertiny.runtime.files import weights_bytes
from supertiny.runtime.token_predictor import TokenPredictor
from supertiny.tasks import example_tools

KIND = "ort-genai"


MIN_SHARED_PREFIX = 16  # tokens: below this, a fresh generator costs no more than rewinding
FORCED_SLACK = 64  # positions beyond max_new_tokens for tokens a grammar forces in one step


class GenaiModel:
    """Greedy generation with a KV cache, timed per request: prefill (to the first token)
    and decode (every later token) separately.

    `reuse_prefix`: keep the last request's KV cache and, for the next request, rewind it to
    the tokens both share and prefill only the rest. Requests from one home share the
    instructions and the home (most of the prompt), so a hub serving its one home prefills
    only the user's message. One request at a time (the server's model thread).

    `grammar` (per request, `supertiny.answer_grammar`): llguidance, built into onnxruntime-genai,
    masks every step's logits to the tokens the grammar allows and appends the tokens it forces
    without a model step each (fast-forward). A kept cache is reused only under the same grammar
    (a generator's grammar is fixed when it is made; rewinding restarts it).
    """

    def __init__(self, folder: str | Path, reuse_prefix: bool = False, max_length: int = 2048):
        import onnxruntime_genai as og
        from transformers import AutoTokenizer

        self._og = og
        self.model = og.Model(str(folder))
        self.tokenizer = AutoTokenizer.from_pretrained(folder)
        self.end_id = self.tokenizer.convert_tokens_to_ids(END_OF_TURN)
        self.reuse_prefix, self.max_length = reuse_prefix, max_length
        self._held, self._held_ids, self._held_grammar = None, [], None
        self.last_prefill_tokens = 0  # what the last request prefilled (all of it, or past the shared prefix)

    def _prefilled(self, ids: list[int], max_new_tokens: int, held_ids: list[int], grammar: str | None):
        """A generator holding `ids`: the kept one (which holds `held_ids`) rewound to the shared
        prefix, or a new one."""
        room = max_new_tokens + (FORCED_SLACK if grammar else 0)
        if self.reuse_prefix and self._held is not None and grammar == self._held_grammar and len(ids) + room <= self.max_length:
            shared = 0
            for a, b in zip(ids[:-1], held_ids):  # the last prompt token is always fed again
                if a != b:
                    break
                shared += 1
            if shared >= MIN_SHARED_PREFIX:
                self._held.rewind_to(shared)
                self._held.append_tokens(ids[shared:])
                self.last_prefill_tokens = len(ids) - shared
                return self._held
        keep = self.reuse_prefix and len(ids) + room <= self.max_length
        params = self._og.GeneratorParams(self.model)
        params.set_search_options(max_length=self.max_length if keep else len(ids) + room, do_sample=False)
        if grammar:
            params.set_guidance("lark_grammar", grammar, True)  # True: append forced tokens without a step each
        generator = self._og.Generator(self.model, params)
        generator.append_tokens(ids)
        self._held, self._held_grammar = (generator, grammar) if keep else (None, None)
        self.last_prefill_tokens = len(ids)
        return generator

    def generate(self, ids: list[int], max_new_tokens: int, grammar: str | None = None) -> tuple[list[int], float, float, list[float]]:
        """(new token ids without the end-of-turn token, prefill seconds, decode seconds, log-probability
        of each chosen token, the end of turn included: the answer's confidence).

        Under a grammar, the log-probabilities are the unmasked model's, of the tokens it chose
        (forced ones have none: the logits of a step already follow them). An answer cut by
        `max_new_tokens` stays cut (the server returns it as text, never a partial set of calls)."""
        start = time.perf_counter()
        held_ids, self._held_ids = self._held_ids, []  # until this request has finished, the kept cache is in no known state
        generator = self._prefilled(ids, max_new_tokens, held_ids, grammar)
        new: list[int] = []
        logprobs: list[float] = []
        first = None
        while len(new) < max_new_tokens and (generator is self._held or not generator.is_done()):
            logits = generator.get_logits()[0, -1]  # the (unmasked) distribution the next token is chosen from
            generator.generate_next_token()
            token = int(generator.get_next_tokens()[0])
            first = first or time.perf_counter()
            logprobs.append(token_logprob(logits, token))
            # under a grammar, a step appends the tokens it forced before the chosen one (not the end of turn)
            step = [int(t) for t in generator.get_sequence(0)[len(ids) + len(new):]] if grammar else [token]
            if token == self.end_id:
                new.extend(t for t in step if t != self.end_id)
                break
            new.extend(step)
        end = time.perf_counter()
        new = new[:max_new_tokens]
        if generator is self._held:
            self._held_ids = ids + new  # the KV cache holds at least these positions
        return new, (first or end) - start, end - (first or end), logprobs

    def logits(self, ids: list[int], start: int):
        """Teacher-forced logits that predict ids[start:] (positions x vocabulary): one prefill of
        ids[:start], then one token at a time, as generation feeds them (the export's LM head
        scores only the last position of each step)."""
        import numpy as np

        params = self._og.GeneratorParams(self.model)
        params.set_search_options(max_length=len(ids) + 1)
        generator = self._og.Generator(self.model, params)
        generator.append_tokens(ids[:start])
        rows = [np.array(generator.get_logits()[0, -1])]
        for token in ids[start:-1]:
            generator.append_tokens([token])
            rows.append(np.array(generator.get_logits()[0, -1]))
        return np.stack(rows)


def token_logprob(logits, token: int) -> float:
    """log softmax(logits)[token], in float64 (a 49k-way softmax in fp32 loses the small ones)."""
    import numpy as np

    values = np.asarray(logits, dtype=np.float64)
    top = values.max()
    return float(values[token] - top - np.log(np.exp(values - top).sum()))


class GenaiPredictor(TokenPredictor):
    """The deployed model (card kind `ort-genai`) answering task examples."""

    def __init__(self, folder: str | Path, task, max_new_tokens: int, reuse_prefix: bool = False, constrained: bool = False,
                 confidence: str = "lowest_token"):
        runtime = GenaiModel(folder, reuse_prefix)
        super().__init__(runtime, runtime.tokenizer, task, max_new_tokens, read_card(folder).get("parameters"), weights_bytes(folder), confidence)
        self.constrained = constrained

    def grammar(self, example: dict) -> str | None:
        """`generation.constrained`: only answers that parse, call the request's tools and name what its context has."""
        if not self.constrained:
            return None
        return answer_grammar(example_tools(self.task, example), self.task.argument_values(example["context"]))
