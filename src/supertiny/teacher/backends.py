"""Choosing a teacher backend from params: `reference` (offline rules) or `openai` (any
OpenAI-compatible chat endpoint with tools)."""

from __future__ import annotations

from supertiny.errors import SupertinyError
from supertiny.params import TeachParams


def make_backend(params: TeachParams, task):
    if params.backend == "reference":
        from supertiny.teacher.reference import ReferenceBackend

        return ReferenceBackend(task)
    if params.backend == "openai":
        from supertiny.teacher.openai_backend import OpenAIBackend

        return OpenAIBackend(params)
    raise SupertinyError(f"params.yaml: teach.backend {params.backend!r} is unknown")
