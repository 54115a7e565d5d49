"""The connected home: rooms, device kinds, generated homes and their compact rendering.

A home is plain JSON (it travels inside every example as `context`); the helpers here
build one from a seeded RNG and render it compactly for the student's prompt, where
every token costs training and latency.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

COLORS = ["white", "warm white", "red", "blue", "green", "yellow", "orange", "purple", "pink"]


@dataclass(frozen=True)
class Room:
    name: str
    slug: str
    floor: str  # "downstairs" | "upstairs"
    synonyms: tuple[str, ...]


@dataclass(frozen=True)
class DeviceKind:
    key: str
    type: str
    names: tuple[str, ...]  # the first is the display name
    capabilities: tuple[str, ...]


ROOMS = {
    room.name: room
    for room in [
        Room("kitchen", "kitchen", "downstairs", ("kitchen", "kitchenette")),
        Room("living room", "living", "downstairs", ("living room", "lounge", "sitting room", "front room", "family room", "den")),
        Room("dining room", "dining", "downstairs", ("dining room", "dining area")),
        Room("hallway", "hall", "downstairs", ("hallway", "hall", "entryway", "corridor", "entrance hall", "foyer")),
        Room("garage", "garage", "downstairs", ("garage",)),
        Room("office", "office", "upstairs", ("office", "study", "home office", "workroom")),
        Room("bedroom", "bedroom", "upstairs", ("bedroom", "master bedroom", "main bedroom")),
        Room("bathroom", "bath", "upstairs", ("bathroom", "washroom", "shower room", "loo")),
        Room("kids room", "kids", "upstairs", ("kids room", "children's room", "nursery", "kid's room", "kids' room", "playroom")),
        Room("guest room", "guest", "upstairs", ("guest room", "spare room", "guest bedroom", "spare bedroom")),
    ]
}

KINDS = {
    kind.key: kind
    for kind in [
        DeviceKind("ceiling_light", "light", ("ceiling light", "overhead light", "main light"), ("power", "brightness")),
        DeviceKind("lamp", "light", ("lamp", "table lamp"), ("power", "brightness", "color")),
        DeviceKind("floor_lamp", "light", ("floor lamp", "standing lamp"), ("power", "brightness", "color")),
        DeviceKind("led_strip", "light", ("led strip", "light strip"), ("power", "brightness", "color")),
        DeviceKind("thermostat", "thermostat", ("thermostat", "heating"), ("power", "temperature")),
        DeviceKind("speaker", "speaker", ("speaker", "smart speaker"), ("power", "volume", "media")),
        DeviceKind("tv", "tv", ("tv", "television", "telly"), ("power", "volume", "media")),
        DeviceKind("fan", "fan", ("fan", "ceiling fan"), ("power",)),
        DeviceKind("coffee_maker", "coffee_maker", ("coffee maker", "coffee machine"), ("power",)),
        DeviceKind("heater", "heater", ("heater", "space heater"), ("power",)),
        DeviceKind("air_purifier", "air_purifier", ("air purifier", "purifier"), ("power",)),
        DeviceKind("kettle", "kettle", ("kettle",), ("power",)),
    ]
}

# Generic nouns that name every device of a type ("the lights downstairs").
TYPE_NOUNS = {"light": ("light", "lights"), "speaker": ("speakers",), "tv": ("tvs",)}

ROOM_KINDS = {
    "kitchen": ["ceiling_light", "led_strip", "speaker", "coffee_maker", "kettle"],
    "living room": ["ceiling_light", "lamp", "floor_lamp", "led_strip", "tv", "speaker", "thermostat", "fan", "air_purifier"],
    "dining room": ["ceiling_light", "lamp", "speaker"],
    "hallway": ["ceiling_light", "thermostat"],
    "garage": ["ceiling_light", "heater"],
    "office": ["ceiling_light", "lamp", "speaker", "fan", "heater", "air_purifier"],
    "bedroom": ["ceiling_light", "lamp", "floor_lamp", "tv", "speaker", "thermostat", "fan", "heater", "air_purifier"],
    "bathroom": ["ceiling_light", "heater", "speaker"],
    "kids room": ["ceiling_light", "lamp", "led_strip", "speaker", "thermostat", "air_purifier"],
    "guest room": ["ceiling_light", "lamp", "tv", "heater"],
}

CAPABILITY_OF_FUNCTION = {
    "set_power": "power",
    "set_brightness": "brightness",
    "set_color": "color",
    "set_temperature": "temperature",
    "set_volume": "volume",
    "play_media": "media",
    "set_timer": None,
}


def can_call(device: dict, function: str) -> bool:
    """Whether `device` can do what `function` does: the one capability rule that the
    judge, the served-request check and the constrained decoder share. A function without
    a device capability (set_timer) and a device without a capabilities list (a served home
    is only as checked as rendering it needs) pass."""
    capability, capabilities = CAPABILITY_OF_FUNCTION.get(function), device.get("capabilities")
    return not capability or not isinstance(capabilities, list) or capability in capabilities


def generate_home(rng: random.Random, home_id: str) -> dict:
    """A random home: 3-6 rooms on both floors, 1-3 devices a room, a plausible current state."""
    downstairs = [r for r in ROOMS.values() if r.floor == "downstairs"]
    upstairs = [r for r in ROOMS.values() if r.floor == "upstairs"]
    rooms = rng.sample(downstairs, rng.randint(2, 3)) + rng.sample(upstairs, rng.randint(1, 3))
    devices = []
    for room in rooms:
        kinds = ROOM_KINDS[room.name]
        chosen = rng.sample(kinds, min(len(kinds), rng.choice([1, 2, 2, 3])))
        if "ceiling_light" in kinds and "ceiling_light" not in chosen and rng.random() < 0.6:
            chosen[0] = "ceiling_light"
        for key in sorted(set(chosen), key=kinds.index):
            devices.append(_new_device(rng, room, KINDS[key]))
    return {
        "home": home_id,
        "rooms": [{"name": room.name, "floor": room.floor} for room in rooms],
        "devices": devices,
    }


def _new_device(rng: random.Random, room: Room, kind: DeviceKind) -> dict:
    state: dict = {"power": rng.choice(["on", "off"])}
    if "brightness" in kind.capabilities:
        state["brightness"] = rng.choice(range(20, 100, 10))
    if "color" in kind.capabilities:
        state["color"] = rng.choice(COLORS[:4] + ["warm white"])
    if "temperature" in kind.capabilities:
        state["power"] = "on" if rng.random() < 0.8 else "off"
        state["temperature"] = rng.randint(17, 24)
    if "volume" in kind.capabilities:
        state["volume"] = rng.choice(range(10, 65, 5))
    return {
        "id": f"{room.slug}_{kind.key}",
        "kind": kind.key,
        "type": kind.type,
        "name": kind.names[0],
        "room": room.name,
        "floor": room.floor,
        "capabilities": list(kind.capabilities),
        "state": state,
    }


def home_signature(context: dict) -> tuple:
    """What makes two homes the same home: their rooms and devices, not their id or state."""
    return tuple(sorted(device["id"] for device in context["devices"]))


def device_by_id(context: dict, device_id: str) -> dict | None:
    return next((d for d in context["devices"] if d["id"] == device_id), None)


def describe_state(device: dict) -> str:
    """The compact state of one device: `on 60% blue`, `off`, `on 21C`, `on vol 30`."""
    state = device["state"]
    parts = [state["power"]]
    if state["power"] == "on" or "temperature" in state:
        if "brightness" in state:
            parts.append(f"{state['brightness']}%")
        if "color" in state:
            parts.append(state["color"])
        if "temperature" in state:
            parts.append(f"{state['temperature']}C")
        if "volume" in state:
            parts.append(f"vol {state['volume']}")
    return " ".join(parts)


def render_compact(context: dict) -> str:
    """One line per room: `kitchen (downstairs): kitchen_ceiling_light off; kitchen_speaker on vol 30`."""
    lines = []
    for room in context["rooms"]:
        devices = [d for d in context["devices"] if d["room"] == room["name"]]
        listed = "; ".join(f"{d['id']} {describe_state(d)}" for d in devices)
        lines.append(f"{room['name']} ({room['floor']}): {listed}")
    return "\n".join(lines)


_LEVELS = {"brightness": (0, 100), "temperature": (10, 30), "volume": (0, 100)}


def context_problems(context) -> list[str]:
    """Why `context` is not a home this task can read, as generated homes are (for examples
    written by hand): known rooms on a floor, known device kinds whose id, type, name,
    room, floor, capabilities and state agree with each other."""
    if not isinstance(context, dict) or not isinstance(context.get("home"), str):
        return ["context must be an object with a string 'home'"]
    rooms, devices = context.get("rooms"), context.get("devices")
    if not isinstance(rooms, list) or not rooms or not isinstance(devices, list):
        return ["context needs a non-empty list 'rooms' and a list 'devices'"]
    floors: dict[str, str] = {}
    for room in rooms:
        if not isinstance(room, dict) or room.get("name") not in ROOMS or room.get("floor") not in ("downstairs", "upstairs"):
            return [f"room {room!r} must have a known name ({', '.join(ROOMS)}) and a floor (downstairs or upstairs)"]
        if room["name"] in floors:
            return [f"room {room['name']!r} is listed twice"]
        floors[room["name"]] = room["floor"]
    problems = []
    for device in devices:
        problems += [f"device {device.get('id') if isinstance(device, dict) else device!r}: {p}" for p in _device_problems(device, floors)]
    return problems


def _device_problems(device, floors: dict[str, str]) -> list[str]:
    fields = ("id", "kind", "type", "name", "room", "floor", "capabilities", "state")
    if not isinstance(device, dict) or set(device) != set(fields):
        return [f"must have exactly the fields {', '.join(fields)}"]
    kind = KINDS.get(device["kind"])
    if kind is None:
        return [f"unknown kind {device['kind']!r} (known: {', '.join(KINDS)})"]
    if device["room"] not in floors:
        return [f"room {device['room']!r} is not one of the home's rooms"]
    expected = {
        "id": f"{ROOMS[device['room']].slug}_{kind.key}", "type": kind.type,
        "floor": floors[device["room"]], "capabilities": list(kind.capabilities),
    }
    problems = [f"{key} must be {value!r}" for key, value in expected.items() if device[key] != value]
    if device["name"] not in kind.names:
        problems.append(f"name must be one of {', '.join(kind.names)}")
    state = device["state"]
    if not isinstance(state, dict) or state.get("power") not in ("on", "off"):
        return problems + ["state needs power 'on' or 'off'"]
    for capability, (low, high) in _LEVELS.items():
        value = state.get(capability)
        if (capability in kind.capabilities) != (capability in state):
            problems.append(f"state must have {capability} exactly when the device supports it")
        elif value is not None and (not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high):
            problems.append(f"state {capability} must be an integer within [{low}, {high}]")
    if ("color" in kind.capabilities) != ("color" in state) or state.get("color", COLORS[0]) not in COLORS:
        problems.append(f"state color must be one of {', '.join(COLORS)}, exactly when the device supports colour")
    return problems
