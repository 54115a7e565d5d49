"""Choosing a teacher backend from params: `reference` (offline rules), `openai` (any
OpenAI-compatible chat endpoint with tools) or `replay` (the gold answers, offline)."""

from __future__ import annotations

from supertiny.errors import SupertinyError
from supertiny.params import TeachParams


def make_backend(params: TeachParams, task, answered: list[dict] = ()):
    """`answered`: examples whose gold answers the `replay` backend gives (others can be added later)."""
    if params.backend == "reference":
        from supertiny.teacher.reference import ReferenceBackend

        return ReferenceBackend(task)
    if params.backend == "openai":
        from supertiny.teacher.openai_backend import OpenAIBackend

        return OpenAIBackend(params)
    if params.backend == "replay":
        from supertiny.teacher.replay import ReplayBackend

        return ReplayBackend(task, answered)
    raise SupertinyError(f"params.yaml: teach.backend {params.backend!r} is unknown")
