"""Train requests composed of two or three BFCL train requests, answered by all their calls.

Half of BFCL's non-live AST summary is parallel and parallel_multiple (several calls to one
request), while its live data, which is what trains, has 38 such requests among 2,200.
Joining requests that each need one call teaches a student that a message asking for several
things is answered by several calls: the same function each time where the parts share their
tools (BFCL's parallel), different functions where they do not (parallel_multiple). Only train
requests are joined, so dev and test stay as BFCL wrote them, and no test category is read.
"""

from __future__ import annotations

import json
import random

from supertiny.errors import SupertinyError

JOINERS = ("{} Also, {}", "{} And {}", "{}\n{}", "{} Then {}", "{} {}")
MID_SENTENCE = {"{} Also, {}", "{} And {}", "{} Then {}"}  # joiners after which the next part goes on a sentence
MAX_PART_CHARS = 250  # longer requests (pasted documents, code) would not read as one message
MAX_TOOLS = 4  # the union of different parts' tools, as BFCL's parallel_multiple requests offer
SENTENCE_ENDS = ".?!。？！"


def composed_requests(train: list[dict], count: int, seed: str) -> list[dict]:
    """`count` requests, each joining 2 or 3 one-call train requests without a system message.
    Half the draws take parts that share their tools (one function called each time), half
    parts with different tools (their union offered, at most `MAX_TOOLS`); the latter fail
    more often, so more of the first kind are kept (191 of 300 in the README's BFCL run)."""
    if count == 0:
        return []
    parts = [example for example in train if _joinable(example)]
    if len(parts) < 2:
        raise SupertinyError(f"bfcl.train_composed: {count} composed requests need at least 2 one-call train requests without a system message; "
                             f"the train split has {len(parts)}")
    shared = {}
    for part in parts:
        shared.setdefault(_tools_key(part["tools"]) + part["gold"][0]["name"], []).append(part)
    shared = [group for group in shared.values() if len(group) >= 2]
    rng, composed, seen = random.Random(seed), [], set()
    for _ in range(count * 50):  # draws that fail (tools clash or too many) are redrawn
        if len(composed) == count:
            break
        size = min(rng.choice((2, 2, 3)), len(parts))
        if shared and rng.random() < 0.5:
            group = rng.choice(shared)
            chosen = rng.sample(group, min(size, len(group)))
        else:
            chosen = rng.sample(parts, size)
        tools = _union(chosen)
        ids = "+".join(part["id"] for part in chosen)
        if tools is None or ids in seen or (len(tools) > MAX_TOOLS and len({_tools_key(p["tools"]) for p in chosen}) > 1):
            continue
        seen.add(ids)
        composed.append({"id": f"composed_{ids}", "input": _joined([p["input"] for p in chosen], rng), "context": {},
                         "category": "composed", "tools": tools, "gold": [call for p in chosen for call in p["gold"]]})
    if len(composed) < count:  # a documented count, never a silent cut
        raise SupertinyError(f"bfcl.train_composed: {count} composed requests asked, but the train split's {len(parts)} one-call requests "
                             f"without a system message gave {len(composed)} distinct ones; ask for fewer or train on more")
    return composed


def _joinable(example: dict) -> bool:
    gold = example["gold"]
    return isinstance(gold, list) and len(gold) == 1 and not example["context"] and len(example["input"].strip()) <= MAX_PART_CHARS


def _tools_key(tools: list[dict]) -> str:
    return json.dumps(sorted(tools, key=lambda tool: tool["function"]["name"]), sort_keys=True)


def _union(chosen: list[dict]) -> list[dict] | None:
    """The parts' tools, each name once; None where two parts give one name different schemas."""
    tools = {}
    for part in chosen:
        for tool in part["tools"]:
            name = tool["function"]["name"]
            if tools.setdefault(name, tool) != tool:
                return None
    return list(tools.values())


def _joined(texts: list[str], rng: random.Random) -> str:
    """The parts as one message: each ends a sentence, the next follows a seeded joiner."""
    message = _sentence(texts[0])
    for text in texts[1:]:
        joiner, text = rng.choice(JOINERS), text.strip()
        if joiner in MID_SENTENCE and text[:1].isupper() and text[1:2].islower():
            text = text[0].lower() + text[1:]
        message = joiner.format(message, _sentence(text))
    return message


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith(tuple(SENTENCE_ENDS)) else text + "."
