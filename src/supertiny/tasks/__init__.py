"""Task plugins: what the feature is, how examples look, which tools exist.

A task bundles the data generator (or reader), the tool schemas, the helper tools the
prototype teacher may use, consistency rules for the judge and the compact context the
student sees. `get_task(name)` is the only lookup the stages use.
"""

from __future__ import annotations

from typing import Any, Protocol

from supertiny.errors import SupertinyError


class Task(Protocol):
    name: str
    action_tools: list[dict]  # OpenAI function schemas of the answer's calls
    helper_tools: list[dict]  # lookups only the prototype teacher may call

    def generate(self, seed: int, sizes: dict[str, int], typo_rate: float) -> dict[str, list[dict]]: ...

    def teacher_system_prompt(self) -> str: ...

    def run_helper(self, context: dict, name: str, arguments: dict) -> Any: ...

    def answer_problems(self, example: dict, calls: list[dict]) -> list[str]:
        """Reasons (schema-valid) calls cannot be the right answer to this example, without gold."""
        ...

    def student_instructions(self) -> str: ...

    def student_context(self, context: dict) -> str: ...

    def reference_agent(self): ...


def get_task(name: str) -> Task:
    if name == "smart_home":
        from supertiny.tasks.smart_home import SmartHomeTask

        return SmartHomeTask()
    raise SupertinyError(f"params.yaml: prepare.task {name!r} is not a known task (known: smart_home)")
