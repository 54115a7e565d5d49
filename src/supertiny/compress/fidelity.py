"""How faithful a compressed model is, measured without generating.

Under teacher forcing on prompt + gold answer, greedy decoding reproduces the gold answer
exactly when every answer position's most likely token is the gold token: one forward pass
per example scores greedy exact match (on the rendered answer, stricter than the order-free
match of `evaluate`), against minutes of generation on 2 cores.
"""

from __future__ import annotations

import numpy as np
import torch
from tqdm import tqdm

from supertiny.prompting import answer_ids, answer_message, student_messages


def answer_sequences(tokenizer, task, examples: list[dict]) -> list[tuple[list[int], int]]:
    """(token ids of prompt + gold answer up to its end-of-turn token, prompt length) per example."""
    return [answer_ids(tokenizer, student_messages(task, e), [answer_message(e["gold"])]) for e in examples]


@torch.inference_mode()
def torch_logits(model, sequences: list[tuple[list[int], int]]) -> list[np.ndarray]:
    """Per sequence, the logits that predict its answer tokens (answer length x vocabulary)."""
    model.eval()
    return [
        model(input_ids=torch.tensor([ids], device=model.device), use_cache=False).logits[0, start - 1 : -1].float().cpu().numpy()
        for ids, start in tqdm(sequences, desc="teacher-forced dev scoring", unit="example", leave=False)
    ]


def greedy_match(logits: list[np.ndarray], sequences: list[tuple[list[int], int]]) -> dict[str, float]:
    """Token accuracy on the gold answers and the share of answers greedy decoding reproduces."""
    hits = [np.asarray(l).argmax(-1) == np.asarray(ids[start:]) for l, (ids, start) in zip(logits, sequences)]
    return {
        "token_accuracy": round(float(np.concatenate(hits).mean()), 4),
        "greedy_exact_match": round(float(np.mean([h.all() for h in hits])), 4),
    }


def top1_agreement(reference: list[np.ndarray], other: list[np.ndarray]) -> float:
    """Share of positions whose most likely token is the same in both."""
    same = sum(int((np.asarray(a).argmax(-1) == np.asarray(b).argmax(-1)).sum()) for a, b in zip(reference, other))
    total = sum(len(a) for a in reference)
    return same / total if total else 1.0
