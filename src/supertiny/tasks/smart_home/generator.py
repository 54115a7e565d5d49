"""Seeded generation of smart-home examples in five categories, with honest splits.

Train, dev and test draw homes from separate RNG streams and never share a home layout
or an utterance; dev/test additionally use held-out templates, media queries, timer
labels and chit-chat lines (see `phrasing.held_out`). Gold answers are written for
dev/test only: the teacher has to earn the train labels.
Besides one template per intent, requests also refer back inside themselves ("... and the
lamp in there", "... and dim it to 20", "... and the heater too") and say why ("purifier on,
it's stuffy in here"): `same_room`, `same_device`, `reasoned` and the floor reasons.
"""

from __future__ import annotations

import copy
import functools
import random
import re
from typing import Callable

from supertiny.tasks.smart_home import phrasing as P
from supertiny.tasks.smart_home.home import COLORS, KINDS, ROOM_KINDS, ROOMS, generate_home, home_signature
from supertiny.utterances import normal_text

CATEGORIES = ["simple", "multiple", "parallel", "relative", "irrelevance"]
MAX_PARALLEL_CALLS = 4  # "all the lights" in a big home would make answers too long for a tiny model


class Draft:
    """An utterance before decoration, its gold answer and the ids of what phrased it."""

    def __init__(self, text: str, gold: list[dict] | str, templates: list[str], protected: set[str] = frozenset()):
        self.text, self.gold, self.templates, self.protected = text, gold, templates, set(protected)


def call(name: str, **arguments) -> dict:
    return {"name": name, "arguments": arguments}


# ---------------------------------------------------------------- referring to things


def room_phrase(rng: random.Random, room_name: str) -> str:
    return "the " + rng.choice(ROOMS[room_name].synonyms)


def device_phrase(rng: random.Random, device: dict, context: dict, placed: bool = False) -> str:
    """An unambiguous way to name a device in this home ("the lounge floor lamp", "the tv
    downstairs", "the kids' lamp", "the sofa lamp"); `placed`: always say its room."""
    kind = KINDS[device["kind"]]
    in_room = [d for d in context["devices"] if d["room"] == device["room"]]
    names = list(kind.names)
    if device["type"] == "light" and sum(d["type"] == "light" for d in in_room) == 1:
        names.append("light")
    nicknames = [] if device["kind"] == "lamp" else P.NICKNAME_PHRASES.get(device["kind"], [])
    name = rng.choice(names + nicknames[:1]) if nicknames and rng.random() < 0.3 else rng.choice(names)
    if name in nicknames[:1]:
        name = rng.choice(nicknames)
    room = rng.choice(ROOMS[device["room"]].synonyms)
    if " " in room and "'" not in room and rng.random() < 0.05:
        room = room.replace(" ", "")  # "livingroom"
    shapes = ["the {room} {name}", "the {name} in the {room}", "my {room} {name}", "the {room} {name}"]
    shapes += P.OWNER_PHRASES.get(device["room"], [])
    unique = sum(d["kind"] == device["kind"] for d in context["devices"]) == 1
    if name != "light" and unique and not placed:
        shapes += ["the {name}", "the {name}"]
    on_floor = [d for d in context["devices"] if d["floor"] == device["floor"] and d["kind"] == device["kind"]]
    if name != "light" and not unique and len(on_floor) == 1 and not placed:
        shapes += ["the {name} {floor}", "the {floor} {name}"]
    lamps_here = [d["kind"] for d in in_room if d["kind"] in ("lamp", "floor_lamp")]
    furniture = P.FURNITURE_LAMPS.get(device["room"], [])
    if furniture and device["kind"] in lamps_here and (device["kind"] == "lamp" or "lamp" not in lamps_here) and rng.random() < 0.35:
        name = rng.choice(furniture)
        shapes = ["the {name} in the {room}"] if placed else ["the {name}", "my {name}", "the {name}"]
    return rng.choice(shapes).format(room=room, name=name, floor=device["floor"])


def _with(context: dict, capability: str, **state) -> list[dict]:
    """The devices that can do `capability` (in this state); only `context["_only"]` when set."""
    return [
        d for d in context["devices"]
        if capability in d["capabilities"] and all(d["state"].get(k) == v for k, v in state.items())
        and context.get("_only", d["id"]) == d["id"]
    ]


# ---------------------------------------------------------------- single intents


def power(rng, context, split, phrase=device_phrase) -> Draft | None:
    device = rng.choice(_with(context, "power"))
    on = device["state"]["power"] == "off" if rng.random() < 0.8 else rng.random() < 0.5
    return _switch(rng, context, split, device, on, phrase)


def _switch(rng, context, split, device: dict, on: bool, phrase=device_phrase) -> Draft:
    """`device` switched on or off, in one of the power phrasings."""
    tid, template = P.pick(rng, P.POWER_ON if on else P.POWER_OFF, split, "power_on" if on else "power_off")
    return Draft(template.format(dev=phrase(rng, device, context)), [call("set_power", device=device["id"], on=on)], [tid])


def brightness(rng, context, split, phrase=device_phrase) -> Draft | None:
    lights = _with(context, "brightness")
    if not lights:
        return None
    device = rng.choice(lights)
    level = rng.choice([5, 10, 15, 20, 25, 30, 40, 50, 50, 60, 70, 75, 80, 90, 100])
    tid, template = P.pick(rng, P.BRIGHTNESS, split, "brightness")
    text = template.format(dev=phrase(rng, device, context), pct=P.percent(rng, level))
    return Draft(text, [call("set_brightness", device=device["id"], level=level)], [tid])


def color(rng, context, split, phrase=device_phrase) -> Draft | None:
    lights = _with(context, "color")
    if not lights:
        return None
    device = rng.choice(lights)
    colour = rng.choice([c for c in COLORS if c != device["state"].get("color")])
    tid, template = P.pick(rng, P.COLOR, split, "color")
    text = template.format(dev=phrase(rng, device, context), color=colour)
    return Draft(text, [call("set_color", device=device["id"], color=colour)], [tid], set(colour.split()))


def temperature(rng, context, split, phrase=device_phrase) -> Draft | None:
    thermostats = _with(context, "temperature")
    if not thermostats:
        return None
    device = rng.choice(thermostats)
    celsius = rng.choice([c for c in range(16, 27) if c != device["state"]["temperature"]])
    tid, template = P.pick(rng, P.TEMPERATURE, split, "temperature")
    text = template.format(
        dev=phrase(rng, device, context), room=room_phrase(rng, device["room"]), deg=P.degrees(rng, celsius)
    )
    return Draft(text, [call("set_temperature", device=device["id"], celsius=celsius)], [tid])


def volume(rng, context, split, phrase=device_phrase) -> Draft | None:
    players = _with(context, "volume")
    if not players:
        return None
    device = rng.choice(players)
    level = rng.choice([c for c in range(0, 101, 5) if c != device["state"]["volume"]])
    tid, template = P.pick(rng, P.VOLUME, split, "volume")
    text = template.format(dev=phrase(rng, device, context), n=P.number(rng, level), pct=P.percent(rng, level))
    return Draft(text, [call("set_volume", device=device["id"], level=level)], [tid])


def media(rng, context, split, phrase=device_phrase) -> Draft | None:
    players = _with(context, "media")
    if not players:
        return None
    device = rng.choice(players)
    room_is_enough = sum("media" in d["capabilities"] for d in context["devices"] if d["room"] == device["room"]) == 1
    qid, query = P.pick(rng, P.QUERIES, split, "query")
    while True:
        tid, template = P.pick(rng, P.MEDIA, split, "media")
        if room_is_enough or "{room}" not in template:
            break
    text = template.format(dev=phrase(rng, device, context), room=room_phrase(rng, device["room"]), query=query)
    return Draft(text, [call("play_media", device=device["id"], query=query)], [tid, qid], set(query.split()))


def timer(rng, context, split) -> Draft | None:
    n = rng.choice([1, 2, 3, 5, 5, 7, 8, 10, 10, 12, 15, 15, 20, 25, 30, 30, 40, 45, 60, 90, 90, 120, 180])
    tid, template = P.pick(rng, P.TIMER, split, "timer")
    lid, label = P.pick(rng, P.LABELS, split, "label")
    if "{n}" in template and n in (30, 60) and rng.random() < 0.5:
        n = 20
    text = template.format(mins=P.minutes(rng, n), n=P.number(rng, n), label=label)
    arguments = {"minutes": n, "label": label} if "{label}" in template else {"minutes": n}
    templates = [tid, lid] if "{label}" in template else [tid]
    return Draft(text, [call("set_timer", **arguments)], templates, {label})


SINGLE_CALL: dict[str, Callable] = {
    "brightness": brightness, "color": color, "temperature": temperature, "volume": volume, "media": media, "timer": timer,
}


# ---------------------------------------------------------------- categories


def simple(rng, context, split) -> Draft | None:
    if rng.random() < 0.2:
        return reasoned(rng, context, split)
    return power(rng, context, split)


def _reason_key(device: dict, on: bool) -> str | None:
    kind, type_ = device["kind"], device["type"]
    if type_ == "light":
        return "light_on" if on else "light_off"
    if on and kind in ("heater", "thermostat"):
        return "warm"
    if (on and kind == "fan") or (not on and kind == "heater"):
        return "cool"
    if on and kind == "air_purifier":
        return "air"
    if not on and type_ in ("tv", "speaker"):
        return "quiet"
    return None


def reasoned(rng, context, split) -> Draft | None:
    """A power request and why ("purifier on, it's stuffy in here"; "it's freezing in the
    bathroom, put the heater on in there"): the answer is the request alone."""
    device = rng.choice(context["devices"])
    on = device["state"]["power"] == "off"
    owner = P.OWNER_REASONS.get(device["room"])
    tid, template = P.pick(rng, P.POWER_ON if on else P.POWER_OFF, split, "power_on" if on else "power_off")
    if owner and not on and rng.random() < 0.5:  # "the kids are asleep, ... in their room"
        rid, reason = P.pick(rng, owner, split, "owner_reason")
        name = rng.choice(KINDS[device["kind"]].names)
        dev = rng.choice([f"the {name} in their room", device_phrase(rng, device, context, placed=True)])
        jid, joiner = P.pick(rng, P.REASONED[1:3], split, "owner_join")
        text = joiner.format(reason=reason, action=template.format(dev=dev))
        return Draft(text, [call("set_power", device=device["id"], on=on)], [tid, rid, jid], set(reason.split()))
    key = _reason_key(device, on)
    if key is None:
        return None
    rid, reason = P.pick(rng, P.REASONS[key], split, f"reason_{key}")
    jid, joiner = P.pick(rng, P.REASONED, split, "reasoned")
    reason_first = joiner.index("{reason}") < joiner.index("{action}")
    if reason_first and "{where}" in reason and rng.random() < 0.6:
        where = "in " + room_phrase(rng, device["room"])
        names = list(KINDS[device["kind"]].names)
        if device["type"] == "light" and sum(d["type"] == "light" for d in context["devices"] if d["room"] == device["room"]) == 1:
            names.append("light")
        name = rng.choice(names)
        dev = rng.choice(["the {name}", "the {name} in there"]).format(name=name)  # one device of a kind a room (ids are room_kind)
    else:
        where = "in here"
        dev = device_phrase(rng, device, context)
    text = joiner.format(reason=reason.format(where=where), action=template.format(dev=dev))
    return Draft(text, [call("set_power", device=device["id"], on=on)], [tid, rid, jid], set(re.findall(r"[a-z']+", reason)))


def multiple(rng, context, split) -> Draft | None:
    return SINGLE_CALL[rng.choice(list(SINGLE_CALL))](rng, context, split)


def relative(rng, context, split) -> Draft | None:
    if rng.random() < 0.3:
        return indirect(rng, context, split)
    options = []
    for device in _with(context, "temperature", power="on"):
        options += [(device, "temperature", +1, P.WARMER), (device, "temperature", -1, P.COOLER)]
    for device in _with(context, "brightness", power="on"):
        options += [(device, "brightness", +1, P.BRIGHTER), (device, "brightness", -1, P.DIMMER)]
    for device in _with(context, "volume", power="on"):
        options += [(device, "volume", +1, P.LOUDER), (device, "volume", -1, P.QUIETER)]
    if not options:
        return None
    device, quantity, sign, templates = rng.choice(options)
    tid, (template, step) = P.pick(rng, templates, split, f"{quantity}_{'up' if sign > 0 else 'down'}")
    if step == "given":
        k = rng.choice({"temperature": [2, 3, 4], "brightness": [10, 20, 25, 30, 40], "volume": [5, 10, 15, 20]}[quantity])
    else:
        k = P.STEPS[quantity][step]
    low, high = (10, 30) if quantity == "temperature" else (0, 100)
    target = device["state"][quantity] + sign * k
    if not low <= target <= high:
        return None
    function = {"temperature": "set_temperature", "brightness": "set_brightness", "volume": "set_volume"}[quantity]
    argument = "celsius" if quantity == "temperature" else "level"
    text = template.format(dev=device_phrase(rng, device, context), room=room_phrase(rng, device["room"]), k=P.number(rng, k))
    return Draft(text, [call(function, device=device["id"], **{argument: target})], [tid])


def indirect(rng, context, split) -> Draft | None:
    """ "it's too dark in the lounge": the room's first device that can help (P.INDIRECT's rules)."""
    tid, (template, quantity, sign, step) = P.pick(rng, P.INDIRECT, split, "indirect")
    capability = "power" if quantity == "air" else quantity
    candidates = [d for d in context["devices"] if capability in d["capabilities"] and (quantity != "air" or d["kind"] == "air_purifier")]
    if quantity == "temperature":
        candidates = [d for d in candidates if d["type"] == "thermostat"]
    if not candidates:
        return None
    device = rng.choice(candidates)
    first_in_room = next(d for d in context["devices"] if d["room"] == device["room"] and d in candidates)
    if quantity == "brightness" and sign < 0 and device["type"] != "light":
        return None
    if len(candidates) == 1 and rng.random() < 0.4:
        where = "in here"
    else:
        device, where = first_in_room, "in " + room_phrase(rng, first_in_room["room"])
    state = device["state"]
    if quantity == "air":
        if state["power"] == "on":
            return None
        gold = call("set_power", device=device["id"], on=True)
    elif quantity == "brightness" and sign > 0 and state["power"] == "off":
        gold = call("set_power", device=device["id"], on=True)
    else:
        if state["power"] == "off":
            return None
        low, high = (10, 30) if quantity == "temperature" else (0, 100)
        target = state[quantity] + sign * P.STEPS[quantity][step]
        if not low <= target <= high:
            return None
        function = {"temperature": "set_temperature", "brightness": "set_brightness", "volume": "set_volume"}[quantity]
        gold = call(function, device=device["id"], **{"celsius" if quantity == "temperature" else "level": target})
    text = template.format(where=where)
    return Draft(text, [gold], [tid], set(re.findall(r"[a-z']+", template)))


def parallel(rng, context, split, opposite_power_share: float = 0.0) -> Draft | None:
    """Several calls. `opposite_power_share`: of the two-device power requests, the share that
    switch one device on and the other off (opposite_power); 0 draws none and consumes no
    randomness for it, so the splits stay as they were."""
    kind = rng.choice(["floor", "floor", "room", "two_power", "two_intents", "two_intents", "same_room", "same_device"])
    on = rng.random() < 0.5
    onoff = "on" if on else "off"
    if kind == "floor":
        floor = rng.choice(["downstairs", "upstairs", "in the house", "everywhere", "in the whole house"])
        lights = [d for d in context["devices"] if d["type"] == "light" and (floor == d["floor"] or floor not in ("downstairs", "upstairs"))]
        if not 2 <= len(lights) <= MAX_PARALLEL_CALLS:
            return None
        tid, template = P.pick(rng, P.ALL_LIGHTS, split, "all_lights")
        text = template.format(onoff=onoff, floor=floor)
        templates = [tid]
        if floor in ("downstairs", "upstairs") and not on and rng.random() < 0.3:  # "..., everyone's downstairs now"
            rid, reason = P.pick(rng, P.FLOOR_REASONS, split, "floor_reason")
            other = "upstairs" if floor == "downstairs" else "downstairs"
            text, templates = f"{text}, {reason.format(floor=floor, other=other)}", [tid, rid]
        return Draft(text, [call("set_power", device=d["id"], on=on) for d in lights], templates)
    if kind == "same_room":
        return same_room(rng, context, split)
    if kind == "same_device":
        return same_device(rng, context, split)
    if kind == "room":
        room = rng.choice(context["rooms"])["name"]
        devices = [d for d in context["devices"] if d["room"] == room]
        if len(devices) < 2:
            return None
        tid, template = P.pick(rng, P.EVERYTHING_IN_ROOM, split, "everything")
        text = template.format(onoff=onoff, room=room_phrase(rng, room))
        return Draft(text, [call("set_power", device=d["id"], on=on) for d in devices], [tid])
    if kind == "two_power":
        if opposite_power_share and rng.random() < opposite_power_share:
            return opposite_power(rng, context, split)
        if len(context["devices"]) < 2:
            return None
        first, second = rng.sample(context["devices"], 2)
        tid, template = P.pick(rng, P.TWO_DEVICES_POWER, split, "two_power")
        text = template.format(onoff=onoff, dev=device_phrase(rng, first, context), dev2=device_phrase(rng, second, context))
        return Draft(text, [call("set_power", device=d["id"], on=on) for d in (first, second)], [tid])
    parts = [rng.choice([power, *SINGLE_CALL.values()])(rng, context, split) for _ in range(2)]
    if None in parts:
        return None
    a, b = parts
    devices = [c["arguments"].get("device", c["name"]) for c in a.gold + b.gold]
    if len(set(devices)) < len(devices):
        return None
    return _joined(rng, split, a, b)


def _joined(rng, split, a: Draft, b: Draft) -> Draft:
    """Two requests said as one ("{a} and {b}", "{a}, then {b}", ...)."""
    jid, joiner = P.pick(rng, P.JOINERS, split, "join")
    return Draft(joiner.format(a=a.text, b=b.text), a.gold + b.gold, [jid, *a.templates, *b.templates], a.protected | b.protected)


def opposite_power(rng, context, split) -> Draft | None:
    """One device on and another off in one request, as people ask ("tv off, lamp on"; "turn
    the fan off and the heater on"): each half its own power phrasing. Without these the
    students learn that every call of a parallel answer shares one `on` (the generator's
    two-device requests ask one action of both)."""
    off_now = [d for d in _with(context, "power") if d["state"]["power"] == "off"]
    on_now = [d for d in _with(context, "power") if d["state"]["power"] == "on"]
    if not off_now or not on_now:
        return None
    halves = [(rng.choice(off_now), True), (rng.choice(on_now), False)]
    rng.shuffle(halves)
    a, b = (_switch(rng, context, split, device, on) for device, on in halves)
    return _joined(rng, split, a, b)


def _placed(rng, device, context):
    return device_phrase(rng, device, context, placed=True)


def _only(context: dict, device: dict) -> dict:
    return {**context, "_only": device["id"]}


def same_room(rng, context, split) -> Draft | None:
    """Two actions in one room, the second "in there": "turn the tv off in the guest room and
    switch the light off in there"."""
    first = rng.choice(context["devices"])
    others = [d for d in context["devices"] if d["room"] == first["room"] and d["id"] != first["id"]]
    if not others:
        return None
    second = rng.choice(others)
    a = rng.choice([power, brightness, color, temperature, volume])(rng, _only(context, first), split, phrase=_placed)
    if a is None or not any(w in a.text for w in ROOMS[first["room"]].synonyms):
        return None
    names = list(KINDS[second["kind"]].names)
    if second["type"] == "light" and sum(d["type"] == "light" for d in [first, *others]) == 1:
        names.append("light")
    hid, there = P.pick(rng, P.THERE, split, "there")
    there = there.format(name=rng.choice(names))
    b = rng.choice([power, brightness, color, volume])(rng, _only(context, second), split, phrase=lambda *_: there)
    if b is None:
        return None
    jid, joiner = P.pick(rng, P.SAME_ROOM_JOINERS, split, "same_room")
    return Draft(joiner.format(a=a.text, b=b.text), a.gold + b.gold, [jid, hid, *a.templates, *b.templates], a.protected | b.protected)


def same_device(rng, context, split) -> Draft | None:
    """Two kinds of action on one device, the second on "it": "set the strip to purple and dim it to 20"."""
    device = rng.choice([d for d in context["devices"] if {"brightness", "color", "volume", "media"} & set(d["capabilities"])] or [None])
    if device is None:
        return None
    follow = [q for q in ("brightness", "color", "volume", "media") if q in device["capabilities"]]
    on_first = device["state"]["power"] == "off" and rng.random() < 0.6
    only = _only(context, device)
    if on_first:  # "switch on the tv and put the news on it"
        tid, template = P.pick(rng, P.POWER_ON, split, "power_on")
        a = Draft(template.format(dev=device_phrase(rng, device, context)), [call("set_power", device=device["id"], on=True)], [tid])
        quantity = rng.choice(follow)
    else:  # "make the lamp blue and turn it on"
        quantity = rng.choice(follow)
        a = SINGLE_CALL[quantity](rng, only, split)
        if a is None or len(follow) < 2 and device["state"]["power"] == "on":
            return None
        rest = [q for q in follow if q != quantity]
        quantity = "power" if device["state"]["power"] == "off" else rng.choice(rest)
    fid, template = P.pick(rng, P.IT_FOLLOW_UPS[quantity], split, f"it_{quantity}")
    values = {"pct": None, "color": None, "n": None, "query": None}
    if quantity == "power":
        gold = call("set_power", device=device["id"], on=True)
    elif quantity == "brightness":
        level = rng.choice([10, 20, 25, 30, 40, 50, 60, 70, 75, 80, 90, 100])
        values["pct"], gold = P.percent(rng, level), call("set_brightness", device=device["id"], level=level)
    elif quantity == "color":
        colour = rng.choice([c for c in COLORS if c not in (device["state"].get("color"), *[g["arguments"].get("color") for g in a.gold])])
        values["color"], gold = colour, call("set_color", device=device["id"], color=colour)
    elif quantity == "volume":
        level = rng.choice([c for c in range(0, 101, 5) if c != device["state"]["volume"]])
        values["n"], gold = P.number(rng, level), call("set_volume", device=device["id"], level=level)
    else:
        qid, query = P.pick(rng, P.QUERIES, split, "query")
        values["query"], gold = query, call("play_media", device=device["id"], query=query)
    if any(g["name"] == gold["name"] for g in a.gold):
        return None
    jid, joiner = P.pick(rng, P.IT_JOINERS, split, "it_join")
    text = joiner.format(a=a.text, b=template.format(**values))
    protected = a.protected | set((values["color"] or "").split()) | set((values["query"] or "").split())
    return Draft(text, a.gold + [gold], [jid, *a.templates, fid], protected)


def irrelevance(rng, context, split) -> Draft | None:
    kind = rng.choice(["chitchat", "chitchat", "no_device", "no_room", "unsupported"])
    present_rooms = [r["name"] for r in context["rooms"]]
    if kind == "chitchat":
        cid, text = P.pick(rng, P.CHITCHAT, split, "chitchat")
        return Draft(text, P.REPLY_CHITCHAT, [cid])
    tid, template = P.pick(rng, P.POWER_ON, split, "power_on")
    if kind == "no_device":
        room = rng.choice(present_rooms)
        here = {d["kind"] for d in context["devices"] if d["room"] == room}
        missing = [k for k in ROOM_KINDS[room] if k not in here and KINDS[k].type != "light"]
        if not missing:
            return None
        name = KINDS[rng.choice(missing)].names[0]
        dev = rng.choice(["the {name} in the {room}", "the {room} {name}"]).format(name=name, room=rng.choice(ROOMS[room].synonyms))
        return Draft(template.format(dev=dev), P.REPLY_NO_DEVICE.format(name=name, room=room), [tid])
    if kind == "no_room":
        if rng.random() < 0.5:  # a place no home here has: "the garden lights"
            pid, room = P.pick(rng, P.NOT_ROOMS, split, "not_room")
            dev = rng.choice(["the light in the {room}", "the {room} light", "the {room} lights"]).format(room=room)
            return Draft(template.format(dev=dev), P.REPLY_NO_ROOM.format(room=room), [tid, pid], set(room.split()))
        room = rng.choice([r for r in ROOMS if r not in present_rooms])
        dev = rng.choice(["the light in the {room}", "the {room} light"]).format(room=rng.choice(ROOMS[room].synonyms))
        return Draft(template.format(dev=dev), P.REPLY_NO_ROOM.format(room=room), [tid])
    quantity = rng.choice(["color", "volume", "brightness"])
    devices = [d for d in context["devices"] if quantity not in d["capabilities"] and d["type"] != "thermostat"]
    if not devices:
        return None
    device = rng.choice(devices)
    draft = {"color": color, "volume": volume, "brightness": brightness}[quantity]
    fake = copy.deepcopy(context)
    for d in fake["devices"]:
        if d["id"] == device["id"]:
            d["capabilities"] = [quantity]
            d["state"] = {**d["state"], "volume": 30, "brightness": 50, "color": "white"}
        else:
            d["capabilities"] = [c for c in d["capabilities"] if c != quantity]
    inner = draft(rng, fake, split)
    if inner is None:
        return None
    reply = P.REPLY_UNSUPPORTED.format(name=device["name"], room=device["room"])
    return Draft(inner.text, reply, inner.templates, inner.protected)


CATEGORY_DRAFTS = {"simple": simple, "multiple": multiple, "parallel": parallel, "relative": relative, "irrelevance": irrelevance}


# ---------------------------------------------------------------- splits


def _resample_state(rng: random.Random, home: dict) -> dict:
    """Same layout, a fresh current state: one home yields many different situations."""
    context = copy.deepcopy(home)
    fresh = generate_home(rng, home["home"])  # states drawn from the same distributions
    states = {}
    for device in fresh["devices"]:
        states.setdefault(device["kind"], []).append(device["state"])
    for device in context["devices"]:
        pool = states.get(device["kind"])
        if pool:
            device["state"] = copy.deepcopy(rng.choice(pool))
    return context


def generate_split(
    split: str, size: int, seed: int, typo_rate: float, taken_utterances: set[str], taken_homes: set[tuple],
    requests_per_home: int = 1, drafts: dict[str, Callable] = CATEGORY_DRAFTS,
) -> list[dict]:
    """`size` examples of `split`, none with an utterance in `taken_utterances` (which grows).

    `requests_per_home` > 1 asks that many requests in turn of one drawn home and state, as a
    hub's users do (sft packs them into one sequence: the home is read once for all of them);
    a request the home cannot serve after a few tries moves on to a fresh one."""
    rng = random.Random(f"smart_home/{seed}/{split}")
    homes = []
    while len(homes) < max(6, size // 4):
        home = generate_home(rng, f"{split}-home-{len(homes):04d}")
        signature = home_signature(home)
        if signature not in taken_homes:
            taken_homes.add(signature)
            homes.append(home)
    categories = [CATEGORIES[i % len(CATEGORIES)] for i in range(size)]
    rng.shuffle(categories)
    examples = []
    shared, asked = None, 0
    for index, category in enumerate(categories):
        for attempt in range(200):
            if requests_per_home == 1 or shared is None or asked >= requests_per_home or attempt >= _TRIES_ON_ONE_HOME:
                shared, asked = _resample_state(rng, rng.choice(homes)), 0
            context = shared
            draft = drafts[category](rng, context, split)
            if draft is None:
                continue
            text = P.decorate(rng, draft.text, typo_rate, draft.protected)
            key = normal_text(text)
            if key not in taken_utterances:
                break
        else:  # pragma: no cover - only for absurdly small template sets
            raise RuntimeError(f"could not draw a fresh {category} example for {split}")
        taken_utterances.add(key)
        asked += 1
        example = {
            "id": f"{split}-{index:05d}",
            "input": text,
            "context": copy.deepcopy(context),
            "category": category,
            "meta": {"templates": draft.templates, "held_out_phrasing": any(_is_held_out(t) for t in draft.templates)},
        }
        if split != "train":
            example["gold"] = draft.gold
        examples.append(example)
    return examples


_TRIES_ON_ONE_HOME = 10  # a category its home cannot serve (no two lights for `parallel`) moves to a fresh home


def _is_held_out(template_id: str) -> bool:
    return P.held_out(int(template_id.rsplit("/", 1)[1]))


def generate_splits(
    seed: int, sizes: dict[str, int], typo_rate: float, keep_out: frozenset[str] = frozenset(), train_requests_per_home: int = 1,
    train_opposite_power_share: float = 0.0,
) -> dict[str, list[dict]]:
    """Test first, then dev, then train, each excluding every utterance and home drawn before it,
    and every `keep_out` utterance (the hand-written held-out requests, as `normal_text` gives them).

    Test depends only on the seed and its own size, so runs that train on more or fewer requests
    score the same test requests and can be compared pairwise. Dev and test ask one request of
    each home and state; train asks `train_requests_per_home`. `train_opposite_power_share`
    changes train only (parallel's opposite_power), so test stays the same requests.
    """
    taken_utterances: set[str] = set(keep_out)
    taken_homes: set[tuple] = set()
    per_home = {"test": 1, "dev": 1, "train": train_requests_per_home}
    drafts = {"test": CATEGORY_DRAFTS, "dev": CATEGORY_DRAFTS,
              "train": {**CATEGORY_DRAFTS, "parallel": functools.partial(parallel, opposite_power_share=train_opposite_power_share)}}
    drawn = {
        split: generate_split(split, sizes[split], seed, typo_rate, taken_utterances, taken_homes, per_home[split], drafts[split])
        for split in ("test", "dev", "train")
    }
    return {split: drawn[split] for split in ("train", "dev", "test")}
