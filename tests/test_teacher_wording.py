"""The reference teacher on the ways people actually ask: indirect requests, vague amounts,
nicknames and room synonyms, scope words, several actions, small talk, missing places, typos.
Every request and home here is made up for the test."""

from __future__ import annotations

import pytest

from supertiny.tasks.smart_home import phrasing as P
from supertiny.tasks.smart_home.home import KINDS, ROOMS, context_problems
from supertiny.teacher.loop import run_tool_loop
from supertiny.teacher.reference import ReferenceBackend

# (room, kind, state)
_LAYOUT = [
    ("living room", "ceiling_light", {"power": "off", "brightness": 50}),
    ("living room", "lamp", {"power": "on", "brightness": 40, "color": "white"}),
    ("living room", "tv", {"power": "on", "volume": 30}),
    ("living room", "thermostat", {"power": "on", "temperature": 20}),
    ("kitchen", "ceiling_light", {"power": "on", "brightness": 80}),
    ("kitchen", "speaker", {"power": "on", "volume": 45}),
    ("office", "lamp", {"power": "off", "brightness": 60, "color": "warm white"}),
    ("office", "air_purifier", {"power": "off"}),
    ("bedroom", "ceiling_light", {"power": "on", "brightness": 30}),
    ("bedroom", "led_strip", {"power": "off", "brightness": 20, "color": "blue"}),
    ("kids room", "speaker", {"power": "on", "volume": 40}),
]


def _home() -> dict:
    rooms = sorted({room for room, _, _ in _LAYOUT}, key=[r for r, _, _ in _LAYOUT].index)
    devices = [
        {"id": f"{ROOMS[room].slug}_{kind}", "kind": kind, "type": KINDS[kind].type, "name": KINDS[kind].names[0],
         "room": room, "floor": ROOMS[room].floor, "capabilities": list(KINDS[kind].capabilities), "state": dict(state)}
        for room, kind, state in _LAYOUT
    ]
    return {"home": "made-up", "rooms": [{"name": r, "floor": ROOMS[r].floor} for r in rooms], "devices": devices}


def _answer(task, utterance: str):
    example = {"id": "t", "input": utterance, "context": _home(), "category": "simple"}
    assert not context_problems(example["context"])
    return run_tool_loop(ReferenceBackend(task), task, example, max_turns=6).final


def _calls(*calls):
    return [{"name": name, "arguments": arguments} for name, arguments in calls]


CASES = [
    # indirect requests: the room's device that helps, the home's only one when no room is named
    ("it's too dark in the lounge", _calls(("set_power", {"device": "living_ceiling_light", "on": True}))),
    ("it's a bit dark in the kitchen", _calls(("set_brightness", {"device": "kitchen_ceiling_light", "level": 90}))),
    ("ugh, way too bright in the bedroom", _calls(("set_brightness", {"device": "bedroom_ceiling_light", "level": 0}))),
    ("I'm freezing", _calls(("set_temperature", {"device": "living_thermostat", "celsius": 21}))),
    ("it's roasting in here", _calls(("set_temperature", {"device": "living_thermostat", "celsius": 19}))),
    ("it's stuffy in the study", _calls(("set_power", {"device": "office_air_purifier", "on": True}))),
    ("the kitchen is way too loud", _calls(("set_volume", {"device": "kitchen_speaker", "level": 15}))),
    # vague amounts from the current state
    ("turn the telly up a tad", _calls(("set_volume", {"device": "living_tv", "level": 40}))),
    ("make the heating loads warmer", _calls(("set_temperature", {"device": "living_thermostat", "celsius": 23}))),
    ("the kitchen radio a little bit quieter", _calls(("set_volume", {"device": "kitchen_speaker", "level": 35}))),
    ("turn the tv up to 60", _calls(("set_volume", {"device": "living_tv", "level": 60}))),
    # nicknames and room synonyms
    ("switch on my desk lamp", _calls(("set_power", {"device": "office_lamp", "on": True}))),
    ("turn on the big light in the front room", _calls(("set_power", {"device": "living_ceiling_light", "on": True}))),
    ("fairy lights on in the bedroom", _calls(("set_power", {"device": "bedroom_led_strip", "on": True}))),
    ("dim the lamp by the sofa a touch", _calls(("set_brightness", {"device": "living_lamp", "level": 30}))),
    # several actions, scope words
    ("turn off the telly and switch the big light on in the lounge",
     _calls(("set_power", {"device": "living_tv", "on": False}), ("set_power", {"device": "living_ceiling_light", "on": True}))),
    ("lights off upstairs",
     _calls(("set_power", {"device": "office_lamp", "on": False}), ("set_power", {"device": "bedroom_ceiling_light", "on": False}),
            ("set_power", {"device": "bedroom_led_strip", "on": False}))),
    # typos of device and room words
    ("switch on the kitchn light right away", _calls(("set_power", {"device": "kitchen_ceiling_light", "on": True}))),
    ("turn off the bedrom ceiling ligth", _calls(("set_power", {"device": "bedroom_ceiling_light", "on": False}))),
]

# Wording that refers to devices and rooms the way people do, written for this home: each row
# is one phenomenon the teacher reads (phrasing's docstring lists the conventions).
EVERYDAY = [
    # "music" is the room's speaker, "telly"/"the tv downstairs" the tv, names of shows to play
    ("the kitchen music is a little too loud", _calls(("set_volume", {"device": "kitchen_speaker", "level": 35}))),
    ("the kids' music is far too loud", _calls(("set_volume", {"device": "kids_speaker", "level": 10}))),
    ("put the rugby on the tv downstairs", _calls(("play_media", {"device": "living_tv", "query": "the rugby"}))),
    ("stick the evening news on the telly", _calls(("play_media", {"device": "living_tv", "query": "the evening news"}))),
    ("put talk radio on in the kitchen", _calls(("play_media", {"device": "kitchen_speaker", "query": "talk radio"}))),
    ("can i get some jazz music on the kitchen speaker", _calls(("play_media", {"device": "kitchen_speaker", "query": "some jazz music"}))),
    # "in there": the room named earlier in the request
    ("switch the telly off in the lounge and put the ceiling light on in there",
     _calls(("set_power", {"device": "living_tv", "on": False}), ("set_power", {"device": "living_ceiling_light", "on": True}))),
    ("heating to 22 in the sitting room, and the lamp in there to 60 percent",
     _calls(("set_temperature", {"device": "living_thermostat", "celsius": 22}), ("set_brightness", {"device": "living_lamp", "level": 60}))),
    # "it": another action on the same device
    ("turn on the bedroom strip and make it green",
     _calls(("set_power", {"device": "bedroom_led_strip", "on": True}), ("set_color", {"device": "bedroom_led_strip", "color": "green"}))),
    ("set the lounge lamp to red and dim it to 25",
     _calls(("set_color", {"device": "living_lamp", "color": "red"}), ("set_brightness", {"device": "living_lamp", "level": 25}))),
    # the same action on another device ("... too")
    ("kitchen light off and the lamp in the study too",
     _calls(("set_power", {"device": "kitchen_ceiling_light", "on": False}), ("set_power", {"device": "office_lamp", "on": False}))),
    # a clause that only says why adds no call; its room places the request's device
    ("switch on the air purifier, the study smells musty", _calls(("set_power", {"device": "office_air_purifier", "on": True}))),
    ("it's pitch dark in the bedroom, get the strip on", _calls(("set_power", {"device": "bedroom_led_strip", "on": True}))),
    ("the bedroom's a bit dim, brighten the ceiling light in there", _calls(("set_brightness", {"device": "bedroom_ceiling_light", "level": 40}))),
    ("the children are napping, turn the speaker off in their room", _calls(("set_power", {"device": "kids_speaker", "on": False}))),
    # the floor the request is about is the first one named
    ("lights off downstairs, everybody's gone upstairs",
     _calls(("set_power", {"device": "living_ceiling_light", "on": False}), ("set_power", {"device": "living_lamp", "on": False}),
            ("set_power", {"device": "kitchen_ceiling_light", "on": False}))),
    # lamps by furniture or place, run-together room names, a device's place that is no step
    ("the lamp next to the couch a touch brighter", _calls(("set_brightness", {"device": "living_lamp", "level": 50}))),
    ("livingroom lamp to blue", _calls(("set_color", {"device": "living_lamp", "color": "blue"}))),
    ("turn on the lamp up in the study", _calls(("set_power", {"device": "office_lamp", "on": True}))),
    # how a device is, a bare direction, more/less of what it gives, stretched words
    ("the tv's a bit quiet", _calls(("set_volume", {"device": "living_tv", "level": 40}))),
    ("kitchen speaker down a notch", _calls(("set_volume", {"device": "kitchen_speaker", "level": 35}))),
    ("bit less light from the bedroom ceiling light please", _calls(("set_brightness", {"device": "bedroom_ceiling_light", "level": 20}))),
    ("the telly is waaaay too loud", _calls(("set_volume", {"device": "living_tv", "level": 0}))),
    # hours, several actions in one sentence, typos, and never the same call twice
    ("set a timer for one and a half hours", _calls(("set_timer", {"minutes": 90}))),
    ("2 hour timer for the roast", _calls(("set_timer", {"minutes": 120, "label": "roast"}))),
    ("heat to 22 and switch off the kitchen speaker",
     _calls(("set_temperature", {"device": "living_thermostat", "celsius": 22}), ("set_power", {"device": "kitchen_speaker", "on": False}))),
    ("swich on the purifer in the study", _calls(("set_power", {"device": "office_air_purifier", "on": True}))),
    ("turn on the kitchen light, switch the kitchen light on", _calls(("set_power", {"device": "kitchen_ceiling_light", "on": True}))),
]

REPLIES = [
    ("cheers, that was great", P.REPLY_CHITCHAT),
    ("good morning!", P.REPLY_CHITCHAT),
    ("what's on tv tonight", P.REPLY_CHITCHAT),
    ("turn on the garden lights", P.REPLY_NO_ROOM.format(room="garden")),
    ("switch off the light in the basement", P.REPLY_NO_ROOM.format(room="basement")),
    ("turn on the guest room lamp", P.REPLY_NO_ROOM.format(room="guest room")),
    ("our guests are asleep, switch the lamp off in their room", P.REPLY_NO_ROOM.format(room="guest room")),
    ("i can't hear anything in the garden", P.REPLY_NO_ROOM.format(room="garden")),
]


@pytest.mark.parametrize(("utterance", "gold"), CASES, ids=[u for u, _ in CASES])
def test_teacher_acts_on_everyday_wording(task, utterance, gold):
    answer = _answer(task, utterance)
    assert isinstance(answer, list)
    assert sorted(answer, key=str) == sorted(gold, key=str)


@pytest.mark.parametrize(("utterance", "gold"), EVERYDAY, ids=[u for u, _ in EVERYDAY])
def test_teacher_reads_everyday_references(task, utterance, gold):
    answer = _answer(task, utterance)
    assert isinstance(answer, list), answer
    assert sorted(answer, key=str) == sorted(gold, key=str)


@pytest.mark.parametrize(("utterance", "reply"), REPLIES, ids=[u for u, _ in REPLIES])
def test_teacher_replies_instead_of_inventing_devices(task, utterance, reply):
    assert _answer(task, utterance) == reply
