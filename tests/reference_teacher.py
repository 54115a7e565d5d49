"""Traces of the offline reference teacher, as the teach stage records them, for tests that
need a student's training data without running the stage."""

from __future__ import annotations

from supertiny.teacher.loop import run_tool_loop
from supertiny.teacher.reference import ReferenceBackend


def reference_teacher_traces(task, examples: list[dict]) -> list[dict]:
    """Each example with the reference teacher's `final` answer and tool-loop `messages`."""
    backend = ReferenceBackend(task)
    results = [(e, run_tool_loop(backend, task, e, 6)) for e in examples]
    return [{**e, "final": result.final, "messages": result.messages} for e, result in results]
