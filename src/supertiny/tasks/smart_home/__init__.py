"""The built-in task: function calling for a connected home (README, The pipeline; docs/data-contracts.md)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from supertiny.tasks.smart_home import phrasing
from supertiny.tasks.smart_home.agent import ReferenceAgent
from supertiny.tasks.smart_home.blind import BLIND_FILE
from supertiny.tasks.smart_home.generator import CATEGORIES, generate_splits
from supertiny.tasks.smart_home.handwritten import HANDWRITTEN_FILE
from supertiny.tasks.smart_home.home import CAPABILITY_OF_FUNCTION, can_call, context_problems, render_compact
from supertiny.tasks.smart_home.tools import ACTION_TOOLS, HELPER_TOOLS, consistency_problems, evidence_problems, run_helper

if TYPE_CHECKING:
    from supertiny.params import PrepareParams

TEACHER_SYSTEM_PROMPT = f"""You control a connected home. Use the helper tools to look the home up \
(list_rooms, find_devices, get_state), then answer in a single message that calls every action \
needed (set_power, set_brightness, set_color, set_temperature, set_volume, play_media, set_timer). \
Device arguments are device ids from find_devices.
Rules: "all the lights upstairs/downstairs" means every light on that floor; "everything in a room" \
means every device in it. Relative requests change the current value: a bit/slightly/unspecified = \
{phrasing.STEPS['temperature']['small']} degree or {phrasing.STEPS['brightness']['small']} percent, \
much/a lot/way = {phrasing.STEPS['temperature']['big']} degrees or {phrasing.STEPS['brightness']['big']} percent, \
"by N" = N. Indirect requests act on the named room's first device that helps (the home's only \
one when no room is named): cold warms and hot cools the thermostat, dark brightens a light (switches it \
on if it is off), stuffy air switches the air purifier on. A clause that only says why ("it's stuffy in \
here") beside a request adds no call; "in there" is the room named before it and "it" the device just acted \
on; never call the same action twice. Timer labels only when the user names one.
If nothing should be done, do not call an action; reply with one of:
"{phrasing.REPLY_CHITCHAT}" (not about the home), "{phrasing.REPLY_NO_ROOM}", \
"{phrasing.REPLY_NO_DEVICE}", "{phrasing.REPLY_UNSUPPORTED}"."""


class SmartHomeTask:
    name = "smart_home"
    action_tools = ACTION_TOOLS
    helper_tools = HELPER_TOOLS
    context_label = "Home"

    def generate(self, prepare: PrepareParams, keep_out: frozenset[str] = frozenset()) -> dict[str, list[dict]]:
        """The generated splits, none of which draws a `keep_out` request (a short hand-written
        one like "set a timer for an hour and a half" can come up in a large train)."""
        sizes = {"train": prepare.train_size, "dev": prepare.dev_size, "test": prepare.test_size}
        return generate_splits(prepare.seed, sizes, prepare.typo_rate, keep_out, prepare.train_requests_per_home,
                               prepare.train_opposite_power_share)

    def teacher_messages(self, example: dict) -> list[dict]:
        return [{"role": "system", "content": TEACHER_SYSTEM_PROMPT}, {"role": "user", "content": example["input"]}]

    def run_helper(self, context: dict, name: str, arguments: dict):
        return run_helper(context, name, arguments)

    def answer_problems(self, example: dict, calls: list[dict]) -> list[str]:
        problems = consistency_problems(example["context"], calls)
        return problems or evidence_problems(example["input"], example["context"], calls)

    def request_calls_problem(self, example: dict, calls: list[dict]) -> str | None:
        """A call on a device the request's home lacks, or one that cannot do what is asked (a
        served home is only as checked as rendering it needs: read it defensively)."""
        devices = [d for d in example["context"].get("devices") or [] if isinstance(d, dict)]
        for call in calls:
            if "device" not in call["arguments"]:
                continue
            wanted = call["arguments"]["device"]
            device = next((d for d in devices if d.get("id") == wanted), None)
            if device is None:
                return f"{call['name']}: no device {str(wanted)[:60]!r} in this home"
            if not can_call(device, call["name"]):
                return f"{call['name']}: device {wanted!r} has no {CAPABILITY_OF_FUNCTION[call['name']]}"
        return None

    def held_out_sets(self) -> dict[str, Path]:
        return {"handwritten": HANDWRITTEN_FILE, "blind": BLIND_FILE}

    def example_problems(self, example: dict) -> list[str]:
        if example["category"] not in CATEGORIES:
            return [f"category must be one of {', '.join(CATEGORIES)}; got {example['category']!r}"]
        problems = context_problems(example["context"])
        if problems:
            return [f"context: {problems[0]}"]
        gold = example["gold"]
        if (example["category"] == "irrelevance") != isinstance(gold, str):
            return ["gold must be a reply (a string) exactly when the category is irrelevance"]
        return [] if isinstance(gold, str) else [f"gold: {p}" for p in consistency_problems(example["context"], gold)]

    def context_problems(self, context) -> list[str]:
        return context_problems(context)

    def argument_values(self, context: dict) -> dict[str, list]:
        """Every `device` argument names one of the home's devices (the schemas say so only in
        words), and one that can do what the function does (as `request_calls_problem` checks)."""
        devices = [device for device in context.get("devices", []) if isinstance(device, dict)]
        return {"device": [device["id"] for device in devices]} | {
            f"{function}.device": [device["id"] for device in devices if can_call(device, function)]
            for function, capability in CAPABILITY_OF_FUNCTION.items() if capability
        }

    def student_instructions(self) -> str:
        return "Smart home: answer with tool calls, or a short reply if nothing should be done."

    def student_context(self, context: dict) -> str:
        return render_compact(context)

    def reference_agent(self) -> ReferenceAgent:
        return ReferenceAgent()

    def official_scores(self, rows: list[dict]) -> tuple[dict, list]:
        return {}, []  # not a public benchmark: supertiny's own scores are its scores
