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
from supertiny.tasks.smart_home.tools import _one_edit_apart, canonical_room

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
    room: str | None = None  # canonical room name (or a place no home has: "garden")
    noun: str | None = None  # what the user called the device
    floor: str | None = None
    everything: bool = False  # every device in scope, not one
    hint: str | None = None  # the room a nickname points at ("desk lamp": office), preferred, not required


@dataclass
class Intent:
    quantity: str  # power | brightness | color | temperature | volume | media | timer
    targets: list[Target] = field(default_factory=list)
    value: object = None  # absolute value, or None for relative
    sign: int = 0  # +1/-1 for relative changes
    step: str | int = "small"
    label: str | None = None
    indirect: bool = False  # "it's too dark": a light that is off is switched on instead


def normalise(text: str) -> str:
    text = text.lower().replace("\u2019", "'").replace("°", " degrees ")
    text = re.sub(r"(\d+)\s*%", r"\1 percent", text)
    text = re.sub(r"\bper cent\b", "percent", text)
    text = re.sub(r"[^a-z0-9' ]+", " ", text)
    text = " " + " ".join(text.split()) + " "
    text = text.replace(" half an hour ", " 30 minutes ").replace(" an hour ", " 60 minutes ").replace(" one hour ", " 60 minutes ")
    text = text.replace(" a degree ", " 1 degrees ")
    text = " ".join(_correct(word) for word in text.split())
    text = " " + text + " "
    for words, n in _NUMBER_WORDS:
        text = text.replace(f" {words} ", f" {n} ")
    for pattern, replacement in P.NICKNAMES:
        text = re.sub(rf"(?<![a-z@'])(?:{pattern})(?![a-z])", replacement, text)
    return text


# Words whose common typos are corrected (one letter dropped, added, replaced or swapped):
# device and room words, the actions and the relative words. Short words are left alone
# ("hear"/"heat", "lamp"/"lamb" are too close to guess).
_KNOWN_WORDS = sorted(
    {w for phrase in _NOUNS + _ROOM_WORDS for w in phrase.split()}
    | {w for pattern, _ in P.NICKNAMES for w in re.findall(r"[a-z]+", pattern)}
    | set(
        "turn switch brighter brightness dimmer darker warmer cooler colder hotter louder quieter softer "
        "volume temperature degrees percent freezing boiling chilly stuffy please downstairs upstairs "
        "everything every lights increase decrease lower raise timer minutes play music heating start stop "
        "activate deactivate enable disable power switch smart table floor standing touch notch loads little "
        "slightly bright".split()
    )
)
_KNOWN = set(_KNOWN_WORDS)
# Real words one edit away from a known one, never typos.
_NOT_TYPOS = set(
    "night right might sight tight fight eight lights light timed times plays cooker later water power there where "
    "other hours house stuff heats heard bright brighten tower lower lover loved cover hover mover fewer sooner "
    "spare space share shore store louder loudly dinner winner hotel motel total sweater weather heather chill "
    "still steal stake stage sweet smell smells".split()
)


def _correct(word: str) -> str:
    """The known word a typo stands for, when exactly one is one edit away (words of 5+ letters)."""
    if len(word) < 5 or word in _KNOWN or word in _NOT_TYPOS or not word.isalpha():
        return word
    close = [known for known in _KNOWN_WORDS if len(known) >= 5 and _one_edit_apart(word, known)]
    return close[0] if len(close) == 1 else word


def _find_spans(text: str, vocabulary: list[str]) -> list[tuple[int, int, str]]:
    spans, taken = [], [False] * len(text)
    for word in vocabulary:
        for match in re.finditer(rf"(?<![a-z']){re.escape(word)}(?![a-z])", text):
            if not any(taken[match.start():match.end()]):
                spans.append((match.start(), match.end(), word))
                for i in range(match.start(), match.end()):
                    taken[i] = True
    return sorted(spans)


_HINT_ROOMS = {room.slug: room.name for room in ROOMS.values()}


def _targets(clause: str) -> list[Target]:
    """The devices a clause names; a nickname's room marker ("@office lamp") becomes that target's hint."""
    hints = {m.end() + 1: _HINT_ROOMS.get(m.group(1)) for m in re.finditer(r"@([a-z]+)", clause)}
    clause = re.sub(r"@[a-z]+", lambda m: " " * len(m.group()), clause)  # same positions, marker gone
    return _plain_targets(clause, hints)


def _plain_targets(clause: str, hints: dict[int, str]) -> list[Target]:
    floor = next((f for f in ("downstairs", "upstairs") if f" {f} " in clause), None)
    rooms = _find_spans(clause, _ROOM_WORDS)
    nouns = _find_spans(clause, _NOUNS)
    if not rooms:  # a place no home of this task has: the helper will say so
        rooms = [(a, b, word) for a, b, word in _find_spans(clause, P.NOT_ROOMS)]
    everything = bool(re.search(r" (all|every|everything|everywhere|each|lights) ", clause)) or bool(
        re.search(r" (in the|whole|entire) (house|home|place|flat) ", clause))
    if everything:
        room = _room(rooms[0][2]) if rooms else None
        noun = nouns[0][2] if nouns else None
        if noun in ("light", "lights") or (noun is None and room is None):
            noun = "light" if noun or floor or room is None else None
        return [Target(room=room, noun=noun, floor=floor, everything=True)]
    targets = []
    for start, end, noun in nouns:
        before = [r for r in rooms if r[1] <= start and clause[r[1]:start].strip() in ("", "'s")]
        after = [r for r in rooms if r[0] >= end and clause[end:r[0]].strip() in ("in the", "in my", "in")]
        nearby = before or after or (rooms if len(rooms) == 1 and len(nouns) == 1 else [])
        room = _room(nearby[0][2]) if nearby else None
        targets.append(Target(room=room, noun=noun, floor=floor, hint=None if room else hints.get(start)))
    if not targets and rooms:
        targets.append(Target(room=_room(rooms[0][2]), floor=floor))
    return targets


def _room(word: str) -> str:
    return canonical_room(word) or word


def _number(clause: str, after: str = "") -> int | None:
    match = re.search(rf"{after}\s*(\d+)", clause) if after else re.search(r" (\d+) ", clause)
    return int(match.group(1)) if match else None


def _step(clause: str) -> str | int:
    given = _number(clause, r" by")
    if given is not None:
        return given
    if re.search(P.BIG_WORDS, clause):
        return "big"
    return "small"


_UP = (r" (warmer|hotter|too cold|cold|chilly|nippy|freezing|frozen|heat up|warm up|brighter|brighten|too dark|dark in|so dark|"
       r"pitch black|can't see|warm (?:the|my|it)|louder|pump up|bump up|crank up|turn up|turn it up|volume up|raise|increase|can't hear|cannot hear) ")
_DOWN = (r" (cooler|colder|too hot|hot in|so hot|boiling|roasting|sweltering|baking|too warm|so warm|warm in here|cool down|cool (?:the|my|it)|dimmer|darker|"
         r"too bright|blinding|quieter|softer|too loud|so loud|turn down|turn it down|volume down|lower|decrease|drop|keep .* down) ")
_INDIRECT = r" (too|so|cold|chilly|nippy|freezing|frozen|dark|pitch|can't|cannot|hot|boiling|roasting|sweltering|baking|blinding|warm in) "


def _relative(clause: str) -> Intent | None:
    if re.search(r" (up |down )?to \d+ ", clause) and not re.search(r" by \d+ ", clause):
        return None  # "turn it up to 50": a target, not a step
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
    if re.search(r" (warmer|hotter|cold|chilly|nippy|freezing|frozen|heat|heating|cool|cooler|colder|hot|boiling|roasting|sweltering|baking|warm|degrees|thermostat) ", clause):
        quantity = "temperature"
    elif re.search(r" (brighter|brighten|dark|black|see|dimmer|darker|bright|brightness|blinding|dim|percent) ", clause):
        quantity = "brightness"
    elif re.search(r" (louder|quieter|softer|loud|volume|hear) ", clause):
        quantity = "volume"
    else:
        quantity = "auto"  # decided by the device's type once found
    targets = _targets(clause)
    if not targets and quantity != "auto":  # "i'm freezing": the device that does it, wherever it is
        targets = [Target()]
    indirect = bool(re.search(_INDIRECT, clause))
    return Intent(quantity, targets, sign=sign, step=_step(clause), indirect=indirect)


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


_QUESTION = r"^ (what|what's|whats|who|who's|how|when|why|where|tell me|do you|are you|is it|will it) "
_ACTION_WORDS = r" (turn|switch|set|play|put|dim|make|start|stop|raise|lower) "


def parse_clause(clause: str, original: str) -> Intent | None:
    if re.search(_QUESTION, clause) and not re.search(_ACTION_WORDS, clause):
        return None  # small talk, not a request
    if re.search(r" (stuffy|stale|musty|smelly|smells|stinks|air quality) ", clause):
        targets = _targets(clause) or [Target()]
        for target in targets:
            target.noun = target.noun or "air purifier"
        return Intent("power", targets, value=True)
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
        query = _media_query(original)
        names_a_device = _find_spans(normalise(query), _NOUNS) if query else re.search(r" (on|off) ", clause)
        if not names_a_device:  # "i'd like the heater on" is no show
            return Intent("media", _targets(clause), value=query)
    color = next((c for c in _COLOR_WORDS if f" {c} " in clause), None)
    if color:
        return Intent("color", _targets(clause), value=color)
    level = _number(clause)
    if level is None and re.search(r" half ", clause):
        level = 50
    if level is None and re.search(r" full ", clause):
        level = 100
    if level is not None and re.search(r" (percent|brightness|bright|dim|half|full|at|to) ", clause):
        targets = _targets(clause)
        stepped = re.search(r" (up|down) to ", clause) and all(t.noun for t in targets)  # "turn the tv up to 60"
        return Intent("auto" if stepped else "brightness", targets, value=level)
    if " put " in clause and not _find_spans(clause.split(" put ", 1)[1].split(" on ")[0] + " ", _NOUNS):
        return Intent("media", _targets(clause), value=_media_query(original))
    if re.search(r" (off|kill|shut|power down|stop|cut|don't need|deactivate|disable) ", clause):
        return Intent("power", _targets(clause), value=False)
    if re.search(r" (on|start|fire up|power up|activate|enable|get .* going|boot up) ", clause):
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
    named = any(t.room or t.noun or t.floor or t.everything for t in intent.targets) if intent else False
    return intent is not None and (intent.quantity == "timer" or named)


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
                if target.hint and not target.everything:
                    found = sorted(found, key=lambda d: d["room"] != target.hint)
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
    elif intent.quantity == "brightness" and not target.room:
        arguments["query"] = "light"
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
        if intent.value is not None and quantity == "volume" and "volume" not in device["capabilities"]:
            return None
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
    if intent.indirect and quantity == "brightness" and intent.sign > 0 and state.get("power") == "off":
        return "set_power", {"device": device["id"], "on": True}  # "it's too dark": light it first
    step = intent.step if isinstance(intent.step, int) else P.STEPS[quantity][intent.step]
    low, high = _RANGE[quantity]
    target = min(high, max(low, state[quantity] + intent.sign * step))
    return _FUNCTION_OF[quantity], {"device": device["id"], _ARGUMENT_OF[quantity]: target}
