"""`prepare.task: bfcl`: the Berkeley Function Calling Leaderboard as a feature to distil, from
the data the pinned `bfcl-eval` wheel ships (README, BFCL).

The student trains on the user-contributed live categories, answered offline by BFCL's
possible answers (`teach.backend: replay`), and is tested on the non-live AST categories,
scored by bfcl-eval's own checker (`checker.py`). No test category is trained on, and a live
request whose text is also a test request's is left out. Every request brings its own
functions, so every prompt lists them: BFCL is a custom feature whose files are BFCL's.
"""

from __future__ import annotations

import json
import random
from typing import TYPE_CHECKING

from supertiny.errors import SupertinyError
from supertiny.tasks.custom import CustomTask, context_text

if TYPE_CHECKING:
    from supertiny.params import PrepareParams


class BfclTask(CustomTask):
    name = "bfcl"
    tools_vary = True  # every request brings its functions

    missing_settings = "the bfcl task's settings (params.yaml: bfcl) are needed here, but were not given"

    @property
    def action_tools(self) -> list[dict]:
        return []  # none of its own: each example's `tools`

    @property
    def helper_tools(self) -> list[dict]:
        return []

    def generate(self, prepare: PrepareParams, keep_out: frozenset[str] = frozenset()) -> dict[str, list[dict]]:
        """test: a seeded sample of each non-live category (`bfcl.test_per_category`, null: all);
        dev: a seeded `bfcl.dev_fraction` of each live category; train: the rest of it (up to
        `bfcl.train_per_category`, `bfcl.train_irrelevance` for live_irrelevance), then
        `bfcl.train_composed` requests composed of train requests. Each split keeps BFCL's order.
        `prepare.seed` draws every sample; the sizes and `keep_out` are a generator's."""
        from supertiny.tasks.bfcl.compose import composed_requests
        from supertiny.tasks.bfcl.data import TEST_CATEGORIES, TRAIN_CATEGORIES, category_examples, is_irrelevance

        settings, seed, test, train, dev = self.settings, prepare.seed, [], [], []
        tested = set()
        for category in TEST_CATEGORIES:
            examples = category_examples(category)
            tested |= {_words(e["input"]) for e in examples}
            test += _sample(examples, settings.test_per_category, f"{seed}-{category}")
        seen = set()
        for category in TRAIN_CATEGORIES:
            examples = []
            for example in category_examples(category):
                request = json.dumps([example["context"], example["input"], example["tools"]], sort_keys=True)
                if _words(example["input"]) not in tested and request not in seen:  # a request seen twice keeps its first answer
                    seen.add(request)
                    examples.append(example)
            order = list(range(len(examples)))
            random.Random(f"{seed}-{category}").shuffle(order)
            dev_count = max(1, round(len(examples) * settings.dev_fraction))
            limit = settings.train_irrelevance if is_irrelevance(category) and settings.train_irrelevance is not None else settings.train_per_category
            dev += [examples[i] for i in sorted(order[:dev_count])]
            train += [examples[i] for i in sorted(order[dev_count:][:limit])]
        train += composed_requests(train, settings.train_composed, f"{seed}-composed")
        return {"train": train, "dev": dev, "test": test}

    def teacher_messages(self, example: dict) -> list[dict]:
        """The request as BFCL gives it: its system message, where it has one, then the user's."""
        context = context_text(example["context"])
        return ([{"role": "system", "content": context}] if context else []) + [{"role": "user", "content": example["input"]}]

    def official_scores(self, rows: list[dict]) -> tuple[dict[str, float], list[bool]]:
        from supertiny.tasks.bfcl.checker import official_scores

        return official_scores(rows)

    def reference_agent(self):
        raise SupertinyError("teach.backend reference is smart_home's rule agent; bfcl's teacher is replay (BFCL's possible answers) or openai")


def _sample(examples: list[dict], limit: int | None, seed: str) -> list[dict]:
    """`limit` of `examples` drawn with `seed`, in their order (all where `limit` is null or larger)."""
    if limit is None or limit >= len(examples):
        return examples
    return [examples[i] for i in sorted(random.Random(seed).sample(range(len(examples)), limit))]


def _words(text: str) -> str:
    """A request's text as compared with the test requests': case and spacing aside."""
    return " ".join(text.lower().split())
