"""The reference teacher for smart_home: a rule-based agent that walks the tool loop.

It reads only the conversation (the user's utterance and the results of its own helper
calls), never the example's gold or its context directly, so its mistakes on typos and
unusual phrasings are real ones that the judge and the student have to live with.
The agent is stateless: each turn it re-parses the utterance and looks at which of its
helper calls have been answered, the way a chat model re-reads its history.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from supertiny.tasks.smart_home import phrasing as P
from supertiny.tasks.smart_home.home import CAPABILITY_OF_FUNCTION, COLORS, KINDS, ROOMS, TYPE_NOUNS
from supertiny.tasks.smart_home.tools import canonical_room

_NUMBER_WORDS = sorted(((P.number_to_words(n), n) for n in range(0, 200)), key=lambda p: -len(p[0]))
_NOUNS = sorted({name for kind in KINDS.values() for name in kind.names} | {n for ns in TYPE_NOUNS.values() for n in ns}, key=len, reverse=True)
_ROOM_WORDS = sorted({syn for room in ROOMS.values() for syn in room.synonyms}, key=len, reverse=True)
_COLOR_WORDS = sorted(COLORS, key=len, reverse=True)
_FUNCTION_OF = {"brightness": "set_brightness", "temperature": "set_temperature", "volume": "set_volume"}
_ARGUMENT_OF = {"brightness": "level", "temperature": "celsius", "volume": "level"}
_RANGE = {"brightness": (0, 100), "volume": (0, 100), "temperature": (10, 30)}
REPLY_UNCLEAR = "Sorry, which device do you mean?"
_SUFFIX_WORDS = r"(?:please|thanks|thank you|now|asap|right away|for me)"


@dataclass
class Target:
    room: str | None = None  # canonical room name
    noun: str | None = None  # what the user called the device
    floor: str | None = None
    everything: bool = False  # every device in scope, not one


@dataclass
class Intent:
    quantity: str  # power | brightness | color | temperature | volume | media | timer
    targets: list[Target] = field(default_factory=list)
    value: object = None  # absolute value, or None for relative
    sign: int = 0  # +1/-1 for relative changes
    step: str | int = "small"
    label: str | None = None


def normalise(text: str) -> str:
    text = text.lower().replace("\u2019", "'").replace("°", " degrees ")
    text = re.sub(r"(\d+)\s*%", r"\1 percent", text)
    text = re.sub(r"\bper cent\b", "percent", text)
    text = re.sub(r"[^a-z0-9' ]+", " ", text)
    text = " " + " ".join(text.split()) + " "
    text = text.replace(" half an hour ", " 30 minutes ").replace(" an hour ", " 60 minutes ").replace(" one hour ", " 60 minutes ")
    text = text.replace(" a degree ", " 1 degrees ")
    for words, n in _NUMBER_WORDS:
        text = text.replace(f" {words} ", f" {n} ")
    return text


def _find_spans(text: str, vocabulary: list[str]) -> list[tuple[int, int, str]]:
    spans, taken = [], [False] * len(text)
    for word in vocabulary:
        for match in re.finditer(rf"(?<![a-z']){re.escape(word)}(?![a-z])", text):
            if not any(taken[match.start():match.end()]):
                spans.append((match.start(), match.end(), word))
                for i in range(match.start(), match.end()):
                    taken[i] = True
    return sorted(spans)


def _targets(clause: str) -> list[Target]:
    floor = next((f for f in ("downstairs", "upstairs") if f" {f} " in clause), None)
    rooms = _find_spans(clause, _ROOM_WORDS)
    nouns = _find_spans(clause, _NOUNS)
    everything = bool(re.search(r" (all|every|everything|everywhere|each|lights) ", clause)) or " in the house " in clause
    if everything:
        room = canonical_room(rooms[0][2]) if rooms else None
        noun = nouns[0][2] if nouns else None
        if noun in ("light", "lights") or (noun is None and room is None):
            noun = "light" if noun or floor or room is None else None
        return [Target(room=room, noun=noun, floor=floor, everything=True)]
    targets = []
    for start, end, noun in nouns:
        before = [r for r in rooms if r[1] <= start and clause[r[1]:start].strip() in ("", "'s")]
        after = [r for r in rooms if r[0] >= end and clause[end:r[0]].strip() in ("in the", "in my", "in")]
        nearby = before or after or (rooms if len(rooms) == 1 and len(nouns) == 1 else [])
        targets.append(Target(room=canonical_room(nearby[0][2]) if nearby else None, noun=noun, floor=floor))
    if not targets and rooms:
        targets.append(Target(room=canonical_room(rooms[0][2]), floor=floor))
    return targets


def _number(clause: str, after: str = "") -> int | None:
    match = re.search(rf"{after}\s*(\d+)", clause) if after else re.search(r" (\d+) ", clause)
    return int(match.group(1)) if match else None


def _step(clause: str) -> str | int:
    given = _number(clause, r" by")
    if given is not None:
        return given
    if re.search(r" (a lot|much|way|lot|crank) ", clause):
        return "big"
    return "small"


_UP = r" (warmer|hotter|too cold|freezing|heat up|warm up|brighter|brighten|too dark|louder|pump up|bump up|turn up|turn it up|volume up|raise|increase) "
_DOWN = r" (cooler|colder|too hot|boiling|cool down|dimmer|darker|too bright|quieter|softer|too loud|turn down|turn it down|volume down|lower|decrease|drop|keep .* down) "


def _relative(clause: str) -> Intent | None:
    up, down = re.search(_UP, clause), re.search(_DOWN, clause)
    generic = re.search(r" (turn|bump|keep|cool|warm) .* (up|down) ", clause)
    dim = re.search(r" dim ", clause) and not re.search(r" to \d+ ", clause)
    if not (up or down or generic or dim):
        return None
    if up or down:
        sign = 1 if up and not (down and down.start() < up.start()) else -1
    elif generic:
        sign = 1 if generic.group(2) == "up" else -1
    else:
        sign = -1
    if re.search(r" (warmer|hotter|cold|freezing|heat|cooler|colder|hot|boiling|degrees) ", clause):
        quantity = "temperature"
    elif re.search(r" (brighter|brighten|dark|dimmer|darker|bright|brightness|dim|percent) ", clause):
        quantity = "brightness"
    elif re.search(r" (louder|quieter|softer|loud|volume|hear) ", clause):
        quantity = "volume"
    else:
        quantity = "auto"  # decided by the device's type once found
    return Intent(quantity, _targets(clause), sign=sign, step=_step(clause))


def _media_query(original: str) -> str | None:
    text = original.lower().replace("\u2019", "'")
    text = re.sub(rf"[\s,.!?]*(\b{_SUFFIX_WORDS}\b[\s,.!?]*)*$", "", text).strip(" .!?")
    patterns = [
        r"(?:play|playing|stream|hear|queue up|let's have|i'd like)\s+(.+?)\s+(?:on|in)\s+(?:the|my)\s",
        r"put on\s+(.+?)\s+(?:on|in)\s+(?:the|my)\s",
        r"put\s+(.+?)\s+on\s+(?:the|my)\s",
        r"(?:,|:)\s*play\s+(.+)$",
    ]
    for pattern in patterns:
        match = re.search(pattern, text)
        if match:
            return match.group(1).strip(" ,")
    return None


_NOT_LABELS = {"a", "the", "my", "minute", "minutes", "min", "mins", "kitchen", "start", "set", "new"}


def _timer(clause: str, original: str) -> Intent:
    minutes = _number(clause) or 0
    text = original.lower()
    match = re.search(r"for (?:the|my) ([a-z]+)", text)
    label = match.group(1) if match and match.group(1) not in ("next",) else None
    if label is None:
        match = re.search(r"([a-z]+) timer\b", text)
        if match and match.group(1) not in _NOT_LABELS:
            label = match.group(1)
    return Intent("timer", value=minutes, label=label)


def parse_clause(clause: str, original: str) -> Intent | None:
    if re.search(r" (timer|remind me in|count down|countdown) ", clause) or re.search(r" time \d+ ", clause):
        return _timer(clause, original)
    if re.search(r" volume ", clause) and _number(clause) is not None and not re.search(r" by \d+ ", clause):
        return Intent("volume", _targets(clause), value=_number(clause))
    relative = _relative(clause)
    if relative:
        return relative
    if _number(clause) is not None and re.search(r" (degrees|thermostat|heating|temperature|heat) ", clause):
        return Intent("temperature", _targets(clause), value=_number(clause))
    if re.search(r" (play|playing|stream|hear|queue up|let's have|i'd like|put on) ", clause):
        return Intent("media", _targets(clause), value=_media_query(original))
    color = next((c for c in _COLOR_WORDS if f" {c} " in clause), None)
    if color:
        return Intent("color", _targets(clause), value=color)
    level = _number(clause)
    if level is None and re.search(r" half ", clause):
        level = 50
    if level is None and re.search(r" full ", clause):
        level = 100
    if level is not None and re.search(r" (percent|brightness|bright|dim|half|full|at|to) ", clause):
        return Intent("brightness", _targets(clause), value=level)
    if " put " in clause and not _find_spans(clause.split(" put ", 1)[1].split(" on ")[0] + " ", _NOUNS):
        return Intent("media", _targets(clause), value=_media_query(original))
    if re.search(r" (off|kill|shut|power down|stop|cut|don't need) ", clause):
        return Intent("power", _targets(clause), value=False)
    if re.search(r" (on|start|fire up|power up) ", clause):
        return Intent("power", _targets(clause), value=True)
    return None


_SEPARATORS = r"(\s*(?:,\s*then|\bthen\b|\band also\b|\band\b|\bplus\b|\bas well as\b|[.,;])\s*)"


def parse(utterance: str) -> list[Intent]:
    """Split the utterance into clauses that each carry an action and a target; parse each.

    A piece without its own action or target ("..., turn it off", "... and the lamp") stays
    with the clause before it, joined by the separator it came with.
    """
    pieces = re.split(_SEPARATORS, utterance)
    clauses: list[str] = []
    for index in range(0, len(pieces), 2):
        segment, separator = pieces[index], pieces[index - 1] if index else ""
        if not segment.strip():
            if clauses:
                clauses[-1] += separator
            continue
        if clauses and _complete(segment) and _complete(clauses[-1]):
            clauses.append(segment)
        elif clauses:
            clauses[-1] += separator + segment
        else:
            clauses.append(segment)
    intents = [parse_clause(normalise(c), c) for c in clauses]
    return [i for i in intents if i is not None]


def _complete(clause: str) -> bool:
    norm = normalise(clause)
    intent = parse_clause(norm, clause)
    return intent is not None and (intent.quantity == "timer" or bool(intent.targets))


# ---------------------------------------------------------------- the agent


def _tool_call(call_id: str, name: str, arguments: dict) -> dict:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}


class ReferenceAgent:
    """Chat-model stand-in: `respond(messages)` returns the next assistant message."""

    name = "reference-rules-v1"

    def respond(self, messages: list[dict]) -> dict:
        utterance = next(m["content"] for m in messages if m["role"] == "user")
        results = _tool_results(messages)
        intents = parse(utterance)
        if not intents:
            return {"role": "assistant", "content": P.REPLY_CHITCHAT}
        if any(not intent.targets and intent.quantity != "timer" for intent in intents):
            return {"role": "assistant", "content": REPLY_UNCLEAR}
        lookups = [
            _tool_call(f"find_{i}_{j}", "find_devices", _find_arguments(intent, target))
            for i, intent in enumerate(intents)
            for j, target in enumerate(intent.targets)
            if f"find_{i}_{j}" not in results
        ]
        if lookups:
            return {"role": "assistant", "content": None, "tool_calls": lookups}
        resolved = []
        for i, intent in enumerate(intents):
            devices = []
            for j, target in enumerate(intent.targets):
                found = results[f"find_{i}_{j}"]
                if isinstance(found, dict) and "error" in found:
                    room = target.room or "room"
                    return {"role": "assistant", "content": P.REPLY_NO_ROOM.format(room=room)}
                found = [d for d in found if _fits(intent, d)] or ([] if target.everything else found)
                found = found if target.everything else found[:1]
                if not found:
                    name = KINDS[_kind_of(target.noun)].names[0] if _kind_of(target.noun) else (target.noun or "device")
                    return {"role": "assistant", "content": P.REPLY_NO_DEVICE.format(name=name, room=target.room or "home")}
                devices += found
            resolved.append(devices)
        states = [
            _tool_call(f"state_{i}_{k}", "get_state", {"device": device["id"]})
            for i, (intent, devices) in enumerate(zip(intents, resolved))
            if intent.value is None and intent.quantity not in ("media", "timer")
            for k, device in enumerate(devices)
            if f"state_{i}_{k}" not in results
        ]
        if states:
            return {"role": "assistant", "content": None, "tool_calls": states}
        calls = []
        for i, (intent, devices) in enumerate(zip(intents, resolved)):
            if intent.quantity == "timer":
                arguments = {"minutes": intent.value} | ({"label": intent.label} if intent.label else {})
                calls.append(("set_timer", arguments))
                continue
            for k, device in enumerate(devices):
                call = _action(intent, device, results.get(f"state_{i}_{k}"))
                if call is None:
                    reply = P.REPLY_UNSUPPORTED.format(name=device["name"], room=device["room"])
                    return {"role": "assistant", "content": reply}
                calls.append(call)
        tool_calls = [_tool_call(f"act_{n}", name, arguments) for n, (name, arguments) in enumerate(calls)]
        return {"role": "assistant", "content": None, "tool_calls": tool_calls}


def _kind_of(noun: str | None) -> str | None:
    return next((k for k, kind in KINDS.items() if noun in kind.names), None)


def _find_arguments(intent: Intent, target: Target) -> dict:
    arguments = {}
    if target.room:
        arguments["room"] = target.room
    if target.floor:
        arguments["floor"] = target.floor
    if target.noun:
        arguments["query"] = "light" if target.noun in ("lights",) else target.noun
    elif intent.quantity == "temperature":
        arguments["query"] = "thermostat"
    return arguments


def _fits(intent: Intent, device: dict) -> bool:
    needed = {"power": "power", "media": "media"}.get(intent.quantity, intent.quantity)
    return needed == "auto" or needed in device["capabilities"]


def _tool_results(messages: list[dict]) -> dict:
    results = {}
    for message in messages:
        if message["role"] == "tool":
            try:
                results[message["tool_call_id"]] = json.loads(message["content"])
            except (json.JSONDecodeError, TypeError):
                results[message["tool_call_id"]] = {"error": message["content"]}
    return results


def _action(intent: Intent, device: dict, state: dict | None) -> tuple[str, dict] | None:
    quantity = intent.quantity
    if quantity == "auto":
        quantity = {"thermostat": "temperature", "light": "brightness"}.get(device["type"], "volume")
    if quantity == "power":
        return ("set_power", {"device": device["id"], "on": intent.value}) if "power" in device["capabilities"] else None
    if quantity == "media":
        if "media" not in device["capabilities"] or not intent.value:
            return None
        return "play_media", {"device": device["id"], "query": intent.value}
    if CAPABILITY_OF_FUNCTION[_FUNCTION_OF.get(quantity, "set_color")] not in device["capabilities"]:
        return None
    if quantity == "color":
        return "set_color", {"device": device["id"], "color": intent.value}
    if intent.value is not None:
        return _FUNCTION_OF[quantity], {"device": device["id"], _ARGUMENT_OF[quantity]: intent.value}
    if not state or quantity not in state:
        return None
    step = intent.step if isinstance(intent.step, int) else P.STEPS[quantity][intent.step]
    low, high = _RANGE[quantity]
    target = min(high, max(low, state[quantity] + intent.sign * step))
    return _FUNCTION_OF[quantity], {"device": device["id"], _ARGUMENT_OF[quantity]: target}
