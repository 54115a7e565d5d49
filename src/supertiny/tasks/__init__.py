"""Task plugins: what the feature is, how examples look, which tools exist.

A task bundles the data generator (or reader), the tool schemas, the helper tools the
prototype teacher may use, consistency rules for the judge and the compact context the
student sees. `get_task(name, custom, bfcl)` is the only lookup the stages use: `smart_home`
is built in, `custom` is the user's own feature read from the files `custom` (params.yaml)
names, `bfcl` is the Berkeley Function Calling Leaderboard's data, sampled as `bfcl` says.
Stages that only build prompts need neither section: the data they read carries everything
a prompt needs.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from supertiny.errors import SupertinyError

if TYPE_CHECKING:
    from supertiny.params import PrepareParams


class Task(Protocol):
    name: str
    action_tools: list[dict]  # OpenAI function schemas of the answer's calls (an example's own `tools` win)
    helper_tools: list[dict]  # lookups only the prototype teacher may call
    context_label: str  # names the context in the student's prompt

    def generate(self, prepare: PrepareParams, keep_out: frozenset[str] = frozenset()) -> dict[str, list[dict]]:
        """train/dev/test as params.yaml's `prepare` section draws them: every task reads its
        seed, a generator its sizes and knobs. `keep_out`: requests (as
        `supertiny.utterances.normal_text` gives them) a generator must not draw, the held-out
        sets' (`prepare` passes them); tasks that read their requests from files ignore it, and
        `prepare` stops on a collision instead."""
        ...

    def teacher_messages(self, example: dict) -> list[dict]:
        """The conversation the teacher starts from: its instructions, the context, the request."""
        ...

    def run_helper(self, context: Any, name: str, arguments: dict) -> Any: ...

    def answer_problems(self, example: dict, calls: list[dict]) -> list[str]:
        """Reasons (schema-valid) calls cannot be the right answer to this example, without gold."""
        ...

    def request_calls_problem(self, example: dict, calls: list[dict]) -> str | None:
        """Why a served answer's (schema-valid) calls cannot run in its request, e.g. a device the
        request's home does not have; None when they can. `serve` then returns no tool call, as
        for a call its schema refuses (issue 16: a forged prompt made the model act elsewhere)."""
        ...

    def held_out_sets(self) -> dict[str, Path]:
        """Hand-written evaluation sets the task ships, by split name: JSONL files of examples
        with gold, written without the generator. `prepare` checks them and copies them to
        data/task/<name>.jsonl; `evaluate` scores each as a split of its own; nothing trains
        on them (supertiny.held_out). `{}` when the task has none."""
        ...

    def example_problems(self, example: dict) -> list[str]:
        """What makes a gold-labelled example invalid for this task, beyond the tool schemas
        (`supertiny.held_out` checks those): an unknown category, a context the task cannot
        read, a gold call its context cannot execute. Empty when it is valid."""
        ...

    def context_problems(self, context: Any) -> list[str]:
        """Why `context` is not one this task can read (a logged production request's,
        `supertiny.handoffs`). Empty when it is valid."""
        ...

    def argument_values(self, context: Any) -> dict[str, list]:
        """Argument name (or `function.argument`, for one function) -> the only values it may
        take in a request with this context, where the context lists them (constrained decoding,
        `supertiny.answer_grammar`); `{}` if none."""
        ...

    def student_instructions(self) -> str: ...

    def student_context(self, context: Any) -> str | None: ...

    def reference_agent(self): ...

    def official_scores(self, rows: list[dict]) -> tuple[dict[str, float], list[bool]]:
        """(metrics, each row's verdict) from a public benchmark's own checker, for evaluated
        rows (`id`, `category`, `prediction`) of a task that is one (bfcl); ({}, []) otherwise."""
        ...


def example_tools(task: Task, example: dict) -> list[dict]:
    """The tools an example's answer may call: its own `tools` where its requests vary them, else the task's."""
    return example.get("tools") or task.action_tools


def get_task(name: str, custom=None, bfcl=None) -> Task:
    """`custom`: the `custom` params section, needed by stages that read the user's tools or run
    the teacher; without it a custom task can still build prompts from prepared data. `bfcl`:
    the `bfcl` section, needed only to prepare the bfcl task's splits."""
    if name == "smart_home":
        from supertiny.tasks.smart_home import SmartHomeTask

        return SmartHomeTask()
    if name == "custom":
        from supertiny.tasks.custom import CustomTask

        return CustomTask(custom)
    if name == "bfcl":
        from supertiny.tasks.bfcl import BfclTask

        return BfclTask(bfcl)
    raise SupertinyError(f"params.yaml: prepare.task {name!r} is not a known task (known: smart_home, custom, bfcl)")
