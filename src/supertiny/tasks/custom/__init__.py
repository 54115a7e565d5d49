"""`prepare.task: custom`: the user's own function-calling feature, from its files (README,
Distil your own feature; docs/data-contracts.md).

The files are read where they are needed: `prepare` checks all of them and writes the task
examples; the teacher reads the tools and runs the helpers; serving reads whether the
requests' tool sets vary. Stages that only build the student's prompt need none of them:
an example carries its context and, where tool sets vary, its tools.
"""

from __future__ import annotations

import json
from functools import cached_property
from typing import TYPE_CHECKING, Any

from supertiny.errors import SupertinyError
from supertiny.tasks.custom.files import assign_splits, read_requests, read_tools, system_text, tools_vary
from supertiny.tasks.custom.helpers import load_helpers
from supertiny.tool_schemas import tools_problem

if TYPE_CHECKING:
    from supertiny.params import PrepareParams

STUDENT_INSTRUCTIONS = "Answer with tool calls, or a short reply if nothing should be done."


class CustomTask:
    name = "custom"
    context_label = "Context"
    context_from_system_text = True  # serving: the request's system messages are its context, as in requests.jsonl

    def __init__(self, settings=None):
        """`settings`: the `custom` params section (None: prompts only, see the module's docstring)."""
        self._settings = settings

    missing_settings = "the custom task's files are needed here, but its settings (params.yaml: custom) were not given"

    @property
    def settings(self):
        if self._settings is None:
            raise SupertinyError(self.missing_settings)
        return self._settings

    @cached_property
    def action_tools(self) -> list[dict]:
        return read_tools(self.settings.tools)

    @cached_property
    def _helpers(self) -> tuple[list[dict], dict]:
        tools, functions = load_helpers(self.settings.helpers)
        clash = sorted({t["function"]["name"] for t in tools} & {t["function"]["name"] for t in self.action_tools})
        if clash:
            raise SupertinyError(f"params.yaml: custom.helpers: {clash[0]!r} is also a tool in {self.settings.tools}")
        return tools, functions

    @property
    def helper_tools(self) -> list[dict]:
        return self._helpers[0]

    @cached_property
    def tools_vary(self) -> bool:
        """Whether requests bring their own tool sets, so that the student's prompt lists each one's tools."""
        return tools_vary(read_requests(self.settings.requests, self.action_tools))

    def generate(self, prepare: PrepareParams, keep_out: frozenset[str] = frozenset()) -> dict[str, list[dict]]:
        """The user's requests as train/dev/test, split by `prepare.seed` and this section's
        fractions, after checking every file, helpers included (the sizes and `keep_out` are
        a generator's)."""
        requests = read_requests(self.settings.requests, self.action_tools)
        self._helpers  # noqa: B018 - import and check the helpers now, before any work
        settings = self.settings
        return assign_splits(settings.requests, requests, self.action_tools, prepare.seed, settings.dev_fraction, settings.test_fraction)

    def teacher_messages(self, example: dict) -> list[dict]:
        """The request as the feature sends it: its instructions (`custom.teacher_prompt`) and
        context as the system message, then the user's message."""
        context = context_text(example["context"])
        system = "\n\n".join(part for part in (self.settings.teacher_prompt, context) if part)
        return ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": example["input"]}]

    def run_helper(self, context: Any, name: str, arguments: dict) -> Any:
        return self._helpers[1][name](context, **arguments)

    def answer_problems(self, example: dict, calls: list[dict]) -> list[str]:
        return []  # the user's schemas are the rules; nothing more is known about their feature

    def request_calls_problem(self, example: dict, calls: list[dict]) -> str | None:
        return None  # the request's tools' schemas are the rules (serve checks them); nothing more is known

    def held_out_sets(self) -> dict:
        return {}  # the user's own gold rows are its dev and test

    def example_problems(self, example: dict) -> list[str]:
        return []  # read_requests already checked every gold row against the schemas

    def context_problems(self, context: Any) -> list[str]:
        return []  # any JSON: the feature's own

    def argument_values(self, context: Any) -> dict[str, list]:
        """None known: the user's schemas do not say which arguments name things in the context."""
        return {}

    def student_instructions(self) -> str:
        return STUDENT_INSTRUCTIONS

    def student_context(self, context: Any) -> str | None:
        return context_text(context)

    def request_context(self, messages: list[dict]) -> str | None:
        """A served chat's context, read as `prepare` reads a request's `messages`."""
        return system_text(messages)

    def request_tools_problem(self, tools) -> str | None:
        """Why a served request's `tools` cannot go into the prompt, where the task's prompts list them."""
        problem = tools_problem(tools)
        return None if problem is None else (f"tools[{problem[0]}]: " if problem[0] is not None else "tools ") + problem[1]

    def reference_agent(self):
        raise SupertinyError("teach.backend reference is smart_home's rule agent; a custom task needs openai or replay")

    def official_scores(self, rows: list[dict]) -> tuple[dict, list]:
        return {}, []  # the user's feature has no checker but its gold answers


def context_text(context: Any) -> str | None:
    """A context as text: a string as it is, other JSON compactly, nothing as None."""
    if context is None or context == "":
        return None
    return context if isinstance(context, str) else json.dumps(context, ensure_ascii=False, separators=(",", ":"))
