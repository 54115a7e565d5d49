"""How requests are compared across sets: the generator's duplicate check, the held-out sets'
keep-out check and the hand-off log's all use `normal_text`, so a request counts as the
same wherever it is compared."""

from __future__ import annotations

import re


def normal_text(text: str) -> str:
    """An utterance as compared across sets: lower case, letters, digits, % and single spaces."""
    return " ".join(re.sub(r"[^a-z0-9% ]+", " ", text.lower()).split())
