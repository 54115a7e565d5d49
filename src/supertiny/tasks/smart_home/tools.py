"""The smart-home tools: the action functions the answer calls, and the helper tools the
prototype teacher may call first to look the home up.

Schemas are OpenAI function-calling JSON; the judge validates calls against them and the
teacher's loop executes helper calls against the example's home.
"""

from __future__ import annotations

import re

from supertiny.tasks.smart_home import phrasing as P
from supertiny.tasks.smart_home.home import (
    COLORS,
    KINDS,
    ROOMS,
    TYPE_NOUNS,
    can_call,
    device_by_id,
)


def _function(name: str, description: str, properties: dict, required: list[str]) -> dict:
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {
                "type": "object",
                "properties": properties,
                "required": required,
                "additionalProperties": False,
            },
        },
    }


_DEVICE = {"type": "string", "description": "device id, e.g. kitchen_ceiling_light"}
_LEVEL = {"type": "integer", "minimum": 0, "maximum": 100}

ACTION_TOOLS = [
    _function("set_power", "Switch a device on or off.", {"device": _DEVICE, "on": {"type": "boolean"}}, ["device", "on"]),
    _function("set_brightness", "Set a light's brightness in percent.", {"device": _DEVICE, "level": _LEVEL}, ["device", "level"]),
    _function(
        "set_color",
        "Set a colour light's colour.",
        {"device": _DEVICE, "color": {"type": "string", "enum": COLORS}},
        ["device", "color"],
    ),
    _function(
        "set_temperature",
        "Set a thermostat's target temperature in degrees Celsius.",
        {"device": _DEVICE, "celsius": {"type": "integer", "minimum": 10, "maximum": 30}},
        ["device", "celsius"],
    ),
    _function("set_volume", "Set a speaker's or TV's volume in percent.", {"device": _DEVICE, "level": _LEVEL}, ["device", "level"]),
    _function(
        "play_media",
        "Play music, radio, a podcast or a show on a speaker or TV.",
        {"device": _DEVICE, "query": {"type": "string", "minLength": 1}},
        ["device", "query"],
    ),
    _function(
        "set_timer",
        "Start a kitchen timer.",
        {"minutes": {"type": "integer", "minimum": 1, "maximum": 1440}, "label": {"type": "string", "minLength": 1}},
        ["minutes"],
    ),
]

HELPER_TOOLS = [
    _function("list_rooms", "List the rooms of the home and their floors.", {}, []),
    _function(
        "find_devices",
        "Find devices by room, floor and/or what they are (a name such as 'floor lamp' or a type such as 'light').",
        {
            "room": {"type": "string"},
            "floor": {"type": "string", "enum": ["downstairs", "upstairs"]},
            "query": {"type": "string"},
        },
        [],
    ),
    _function("get_state", "Read a device's current state.", {"device": _DEVICE}, ["device"]),
]


class ToolError(Exception):
    """A helper call the home cannot answer; its message goes back to the teacher as the tool result."""


def canonical_room(text: str) -> str | None:
    text = text.strip().lower()
    for room in ROOMS.values():
        if text == room.name or text in room.synonyms:
            return room.name
    return None


def _matches_query(device: dict, query: str) -> bool:
    query = query.strip().lower()
    if query in (device["type"], device["kind"], device["kind"].replace("_", " ")):
        return True
    if query in KINDS[device["kind"]].names:
        return True
    return query in TYPE_NOUNS.get(device["type"], ())


def run_helper(context: dict, name: str, arguments: dict):
    """Execute one helper tool against a home (the example's `context`)."""
    if name == "list_rooms":
        return context["rooms"]
    if name == "find_devices":
        devices = context["devices"]
        if arguments.get("room"):
            room = canonical_room(arguments["room"])
            if room is None or room not in {r["name"] for r in context["rooms"]}:
                raise ToolError(f"no room called {arguments['room']!r} in this home")
            devices = [d for d in devices if d["room"] == room]
        if arguments.get("floor"):
            devices = [d for d in devices if d["floor"] == arguments["floor"]]
        if arguments.get("query"):
            devices = [d for d in devices if _matches_query(d, arguments["query"])]
        return [
            {"id": d["id"], "name": d["name"], "type": d["type"], "room": d["room"], "capabilities": d["capabilities"]}
            for d in devices
        ]
    if name == "get_state":
        device = device_by_id(context, str(arguments.get("device", "")))
        if device is None:
            raise ToolError(f"unknown device {arguments.get('device')!r}")
        return device["state"]
    raise ToolError(f"unknown tool {name!r}")


def consistency_problems(context: dict, calls: list[dict]) -> list[str]:
    """Reasons a set of (schema-valid) action calls cannot be right for this home."""
    problems = []
    seen: dict[tuple, str] = {}
    for call in calls:
        name, arguments = call["name"], call["arguments"]
        if "device" in arguments:
            device = device_by_id(context, arguments["device"])
            if device is None:
                problems.append("unknown_device")
                continue
            if not can_call(device, name):
                problems.append("unsupported_capability")
        target = (name, arguments.get("device"))
        value = repr(sorted(arguments.items()))
        if target in seen:
            problems.append("duplicate_call" if seen[target] == value else "conflicting_calls")
        seen[target] = value
    return problems


# Words that point at a device type even when the user does not name it ("a bit warmer").
_TYPE_EVIDENCE = {
    "thermostat": ("heat", "warm", "cool", "cold", "hot", "temperature", "degree", "freezing", "boiling", "chilly", "radiator", "roasting"),
    "speaker": ("play", "hear", "stream", "queue", "music", "volume", "loud", "quiet", "soft", "pump", "radio", "stereo"),
    "tv": ("play", "hear", "stream", "queue", "volume", "loud", "quiet", "soft", "pump", "telly"),
    "light": ("light", "lamp", "bright", "dim", "dark", "leds", "see", "strip"),
    "air_purifier": ("stuffy", "stale", "musty", "smell", "air"),
    "coffee_maker": ("coffee", "espresso"),
    "heater": ("heater",),
}
_SCOPE_WORDS = re.compile(r"\b(all|every|everything|everywhere|lights|downstairs|upstairs|house)\b")


def _one_edit_apart(a: str, b: str) -> bool:
    """True when b is a with one letter dropped, added, replaced or two neighbours swapped."""
    if a == b or abs(len(a) - len(b)) > 1:
        return a == b
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]])
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return any(long_[:i] + long_[i + 1:] == short for i in range(len(long_)))


def _mentions(text: str, phrase: str) -> bool:
    """Whether the padded, normalised `text` says `phrase`, tolerating one typo per word of
    four letters or more (the generator's typos are exactly that)."""
    if phrase in text:
        return True
    words, wanted = text.split(), phrase.split()
    for start in range(len(words) - len(wanted) + 1):
        window = words[start:start + len(wanted)]
        if all(w == p or (len(p) >= 4 and _one_edit_apart(w, p)) for w, p in zip(window, wanted)):
            return True
    return False


def evidence_problems(utterance: str, context: dict, calls: list[dict]) -> list[str]:
    """`unmentioned_device` when a call's device has no support in the words of the request:
    neither its name (or a word for its type) nor, unless it is the only one of its kind,
    its room. Catches a teacher that guessed a device after misreading a typo.

    A scope word ("all the lights upstairs", "everything in the kitchen") widens the request
    to many devices, but never beyond the place and kind it names: `out_of_scope_device` when
    a device is in none of the rooms or floors the request names (unless it is the only
    device of its type, named by its own words), or is not of the kind it names ("lights";
    "everything" and "devices" name every kind)."""
    text = " " + re.sub(r"[^a-z0-9' ]+", " ", utterance.lower().replace("°", " degree ")) + " "
    if _SCOPE_WORDS.search(text):
        return _scope_problems(text, context, calls)
    problems = []
    for call in calls:
        device = device_by_id(context, call["arguments"].get("device", ""))
        if device is None:
            continue
        named = _named(text, call, device)
        unique = sum(d["kind"] == device["kind"] for d in context["devices"]) == 1
        on_floor = sum(d["kind"] == device["kind"] and d["floor"] == device["floor"] for d in context["devices"]) == 1
        placed = unique or _room_named(text, device["room"]) or (on_floor and _mentions(text, f" {device['floor']} "))
        if not (named and placed):
            problems.append("unmentioned_device")
    return problems


def _room_named(text: str, room: str) -> bool:
    """Whether the request names the room: a synonym (also run together: "livingroom"), who it
    belongs to ("the kids' lamp"), or the furniture of a lamp there ("the sofa lamp")."""
    synonyms = ROOMS[room].synonyms
    words = [*synonyms, *(s.replace(" ", "").replace("'", "") for s in synonyms if " " in s), *P.FURNITURE_LAMPS.get(room, [])]
    owners = P.ROOM_OWNERS.get(room, [])
    return any(_mentions(text, f" {word} ") for word in words) or any(
        re.search(rf" {owner}('s|s'|')? ", text) for owner in owners)


def _named(text: str, call: dict, device: dict) -> bool:
    """Whether the request's words name the device's kind or type, or the action implies it."""
    return (
        call["name"] != "set_power"  # the action itself implies the type (only lights have brightness)
        or any(_mentions(text, name) for name in KINDS[device["kind"]].names)
        or any(_mentions(text, w) for w in _TYPE_EVIDENCE.get(device["type"], ()))
    )


def _scope_problems(text: str, context: dict, calls: list[dict]) -> list[str]:
    places = _SCOPE_WORDS.sub(" ", text)  # "all" is one typo from "hall": the scope words name no place
    rooms = {name for name in ROOMS if _room_named(places, name)}
    floors = {floor for floor in ("upstairs", "downstairs") if _mentions(text, f" {floor} ")}
    # "switch off all of the bedroom" names a place and no kind: everything there. Exact words
    # (or plurals) here: one typo away, "right" would name a light
    kind_words = [w.strip() for spec in KINDS.values() for w in spec.names] + [w.strip() for words in _TYPE_EVIDENCE.values() for w in words]
    names_a_kind = any(f" {word} " in text or f" {word}s " in text for word in kind_words)
    every_kind = not names_a_kind or any(_mentions(text, word) for word in (" everything ", " devices ", " device "))
    problems = []
    for call in calls:
        device = device_by_id(context, call["arguments"].get("device", ""))
        if device is None:
            continue
        named = every_kind or _named(text, call, device)
        only_of_type = sum(d["type"] == device["type"] for d in context["devices"]) == 1
        only_of_kind = sum(d["kind"] == device["kind"] for d in context["devices"]) == 1 and any(
            _mentions(text, f" {name} ") for name in KINDS[device["kind"]].names)  # "the upstairs speaker ... and the led strip"
        placed = (not rooms and not floors) or device["room"] in rooms or device["floor"] in floors or (only_of_type and _named(text, call, device)) or only_of_kind
        if not (named and placed):
            problems.append("out_of_scope_device")
    return problems
