"""The reference teacher for smart_home: a rule-based agent that walks the tool loop.

It reads only the conversation (the user's utterance and the results of its own helper
calls), never the example's gold or its context directly, so its mistakes on typos and
unusual phrasings are real ones that the judge and the student have to live with.
The agent is stateless: each turn it re-parses the utterance and looks at which of its
helper calls have been answered, the way a chat model re-reads its history.
"""

from __future__ import annotations

import copy
import dataclasses
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
    reason: bool = False  # a state of the room and no device named: beside another request, only its why
    same_as: "Intent | None" = None  # "... and dim it to 20": the device(s) that intent found


def normalise(text: str) -> str:
    text = text.lower().replace("\u2019", "'").replace("°", " degrees ")
    text = re.sub(r"(\d+)\s*%", r"\1 percent", text)
    text = re.sub(r"\bper cent\b", "percent", text)
    text = re.sub(r"(\d+)\.5 hours?", lambda m: f"{int(m.group(1)) * 60 + 30} minutes", text)
    text = re.sub(r"[^a-z0-9' ]+", " ", text)
    text = " " + " ".join(_unstretch(word) for word in text.split()) + " "
    for joined, room in _JOINED_ROOMS.items():
        text = text.replace(f" {joined} ", f" {room} ")
    text = re.sub(r" (turn|switch|shut) of (?=(the|my|all|every|it|them|everything) )", r" \1 off ", text)
    text = " ".join(_correct(word) for word in text.split())
    text = " " + text + " "
    for words, n in _NUMBER_WORDS:
        text = text.replace(f" {words} ", f" {n} ")
    for pattern, replacement in _DURATIONS:
        text = re.sub(pattern, replacement, text)
    text = text.replace(" a degree ", " 1 degrees ")
    for pattern, replacement in _MORE_LESS:
        text = re.sub(pattern, replacement, text)
    text = _owned_rooms(text)
    for pattern, replacement in P.NICKNAMES:
        text = re.sub(rf"(?<![a-z@'])(?:{pattern})(?![a-z])", replacement, text)
    return text


# Durations people say in hours ("an hour and a half", "2 hours", "a quarter of an hour").
_DURATIONS = [
    (r" (an|1) hour and a half ", " 90 minutes "),
    (r" (\d+) and a half hours? ", lambda m: f" {int(m.group(1)) * 60 + 30} minutes "),
    (r" (a|1) quarter of an hour ", " 15 minutes "),
    (r" 3 quarters of an hour ", " 45 minutes "),
    (r" half an hour ", " 30 minutes "),
    (r" (an|1) hours? ", " 60 minutes "),
    (r" (\d+) hours? ", lambda m: f" {int(m.group(1)) * 60} minutes "),
]
# "more light from the lamp": an amount of what a device gives, not a device.
_MORE_LESS = [
    (r" more (light|brightness) ", " brighter "), (r" less (light|brightness) ", " dimmer "),
    (r" more (heat|warmth|heating) ", " warmer "), (r" less (heat|heating) ", " cooler "),
    (r" more (volume|sound) ", " louder "), (r" less (volume|sound|noise) ", " quieter "),
]
# Room names written as one word ("livingroom", "guestroom").
_JOINED_ROOMS = {
    synonym.replace(" ", "").replace("'", ""): synonym
    for room in ROOMS.values() for synonym in room.synonyms if " " in synonym
}


def _owned_rooms(text: str) -> str:
    """Rooms named by who sleeps or stays there (`P.ROOM_OWNERS`): "the kids' lamp" is the kids
    room's lamp, and "their room" after "the kids are asleep" is the kids room."""
    for room, owners in P.ROOM_OWNERS.items():
        people = "|".join(owners)
        if re.search(rf" ({people})('s|s'|')? ", text):
            text = re.sub(r" (their|his|her) (room|bedroom) ", f" the {room} ", text)
        text = re.sub(rf" (?:{people})(?:'s|s'|')(?![a-z])(?! (room|bedroom|room's|bedroom's) )", f" {room}", text)
        text = re.sub(rf" (?:{people}) (?=({_DEVICE_HEADS}) )", f" {room} ", text)
    return text


def _unstretch(word: str) -> str:
    """ "waaay" is "way", "tooo" is "too": a letter typed three times or more stands for one or two."""
    if not re.search(r"([a-z])\1\1", word):
        return word
    double = re.sub(r"([a-z])\1{2,}", r"\1\1", word)
    return double if double in _PLAIN_WORDS else re.sub(r"([a-z])\1{2,}", r"\1", word)


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


_PLAIN_WORDS = _KNOWN | _NOT_TYPOS | set("too cool good soon loo door room see free keep need all off full still small tall".split())
_DEVICE_HEADS = "|".join(sorted(
    {w for phrase in _NOUNS for w in phrase.split()}
    | {phrase.split()[0] for phrases in P.NICKNAME_PHRASES.values() for phrase in phrases}
    | {phrase.split()[0] for phrases in P.FURNITURE_LAMPS.values() for phrase in phrases}
))


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
    # the floor the action is about comes first ("lights off upstairs, everyone's downstairs now")
    floors = [m for m in re.finditer(r" (downstairs|upstairs) ", clause)]
    floor = floors[0].group(1) if floors else None
    rooms = _find_spans(clause, _ROOM_WORDS)
    nouns = _find_spans(clause, _NOUNS)
    if not rooms:  # a place no home of this task has: the helper will say so
        rooms = [(a, b, word) for a, b, word in _find_spans(clause, P.NOT_ROOMS)]
    everything = bool(re.search(r" (all|every|everything|everywhere|each|lights) ", clause)) or bool(
        re.search(r" (in the|whole|entire) (house|home|place|flat) (?!office )", clause))
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


def _level(clause: str) -> int | None:
    level = _number(clause)
    if level is None and re.search(r" half ", clause):
        level = 50
    if level is None and re.search(r" full ", clause):
        level = 100
    return level


def _step(clause: str) -> str | int:
    given = _number(clause, r" by")
    if given is not None:
        return given
    if re.search(P.BIG_WORDS, clause):
        return "big"
    return "small"


_UP = (r" ((?:bit|too|so|very|quite|rather|really|getting|is|are|'s|little) (?:quiet|dim)|warmer|hotter|too cold|cold|chilly|nippy|freezing|frozen|heat up|warm up|brighter|brighten|too dark|dark in|so dark|"
       r"pitch black|can't see|warm (?:the|my|it)|louder|pump up|bump up|crank up|turn up|turn it up|volume up|raise|increase|can't hear|cannot hear) ")
_DOWN = (r" ((?:bit|too|so|very|quite|rather|really|getting|is|are|'s|little) loud|cooler|colder|too hot|hot in|so hot|boiling|roasting|sweltering|baking|too warm|so warm|warm in here|cool down|cool (?:the|my|it)|dimmer|darker|"
         r"too bright|blinding|quieter|softer|too loud|so loud|turn down|turn it down|volume down|lower|decrease|drop|keep .* down) ")
_INDIRECT = r" (too|so|(?:bit|very|quite|rather|getting|is|are|'s|little) dim|cold|chilly|nippy|freezing|frozen|dark|pitch|can't|cannot|hot|boiling|roasting|sweltering|baking|blinding|warm in) "


# "the music up a bit", "tv down a notch": a device and a direction, no verb.
_BARE_STEP = (r" ([a-z']+) (up|down) (?=(a (bit|little|touch|tad|notch|lot|smidge)|bit|slightly|loads|lots|much|way|by \d+|"
              r"please|thanks|thank you|now|then)? $|(a (bit|little|touch|tad|notch|lot)|bit|slightly|loads|lots|much|way) )")


def _relative(clause: str) -> Intent | None:
    if re.search(r" (up |down )?to (\d+|half|full) ", clause) and not re.search(r" by \d+ ", clause):
        return None  # "turn it up to 50": a target, not a step
    up, down = re.search(_UP, clause), re.search(_DOWN, clause)
    generic = re.search(r" (turn|bump|keep|cool|warm) .* (up|down) ", clause) or (
        None if re.search(r" (shut|power|close|calm|settle|sit|lie|slow|wind) ", clause) else re.search(_BARE_STEP, clause))
    if generic and re.search(r" (turn|switch|put|get) (on|off) ", clause):
        generic = None  # "turn on the lamp up in the bedroom": where it is, not a step
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
    reason = indirect and not any(t.noun for t in targets)
    return Intent(quantity, targets, sign=sign, step=_step(clause), indirect=indirect, reason=reason)


def _media_query(original: str) -> str | None:
    text = original.lower().replace("\u2019", "'")
    text = re.sub(rf"[\s,.!?]*(\b{_SUFFIX_WORDS}\b[\s,.!?]*)*$", "", text).strip(" .!?")
    text = re.sub(r"[\s,.;]+(and|then|plus|and then)[\s,.;]*$", "", text)  # the separator to a follow-up
    patterns = [
        r"(?:play|playing|stream|hear|queue up|let's have|i'd like)\s+(.+?)\s+(?:on|in)\s+(?:the|my)\s",
        r"put on\s+(.+?)\s+(?:on|in)\s+(?:the|my)\s",
        r"(?:put|stick|pop|whack|get|have)\s+(.+?)\s+on\s+(?:in\s+)?(?:the|my)\s",
        r"(?:,|:)\s*play\s+(.+)$",
        r"(?:put|stick|pop|whack)\s+(.+?)\s+on$",
        r"(?:play|put|stick|stream|queue up|pop|whack)\s+(.+?)\s+on\s+it$",
    ]
    for pattern in patterns:
        match = re.search(pattern, text)
        if match:
            return match.group(1).strip(" ,")
    return None


_MEDIA_VERBS = r" (play|playing|stream|hear|queue up|let's have|i'd like|put on|put|stick|pop|whack|get|have) "


def _names_device(query: str) -> bool:
    """Whether what comes after "put"/"play" is a device ("put the telly on"), not a show
    ("put the news on"): "music" and "radio" in a show's name are no speaker ("some jazz music")."""
    query = query.strip()
    if re.fullmatch(r"((the|my|our) )?(music|radio|stereo)|it|them|that|this|one", query):
        return True
    plain = normalise(re.sub(r"\b(music|radio)\b", "tunes", query))
    return bool(_find_spans(plain, _NOUNS) or re.search(r" (it|warmer|hotter|cooler|colder|louder|quieter|softer|brighter|dimmer|darker|up|down|higher|lower) ", plain))


def _media(clause: str, original: str) -> Intent | None:
    """ "play X on the kitchen speaker", "put X on in the lounge", "stick X on the telly": X is
    what to play when it names no device; the devices are looked for in the rest."""
    if not re.search(_MEDIA_VERBS, clause) or re.search(r" (can't|cannot|can not|couldn't) hear ", clause):
        return None
    query = _media_query(original)
    if not query or _names_device(query):
        return None
    rest = original.lower().replace("\u2019", "'").replace(query, " ", 1)
    return Intent("media", _targets(normalise(rest)), value=query)


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
        reason = not any(t.noun for t in targets)
        for target in targets:
            target.noun = target.noun or "air purifier"
        return Intent("power", targets, value=True, reason=reason)
    if re.search(r" (timer|remind me in|count down|countdown) ", clause) or re.search(r" time \d+ ", clause):
        return _timer(clause, original)
    if re.search(r" volume ", clause) and _level(clause) is not None and not re.search(r" by \d+ ", clause):
        return Intent("volume", _targets(clause), value=_level(clause))
    media = _media(clause, original)
    if media:
        return media
    relative = _relative(clause)
    if relative:
        return relative
    if _number(clause) is not None and re.search(r" (degrees|thermostat|heating|temperature|heat) ", clause):
        return Intent("temperature", _targets(clause) or [Target()], value=_number(clause))
    color = next((c for c in _COLOR_WORDS if f" {c} " in clause), None)
    if color:
        return Intent("color", _targets(clause), value=color)
    level = _level(clause)
    if level is not None and re.search(r" (percent|brightness|bright|dim|half|full|at|to) ", clause):
        targets = _targets(clause)
        stepped = re.search(r" (up|down) to ", clause) and all(t.noun for t in targets)  # "turn the tv up to 60"
        return Intent("auto" if stepped else "brightness", targets, value=level)
    if re.search(r" (off|kill|shut|power down|stop|cut|don't need|deactivate|disable) ", clause):
        return Intent("power", _targets(clause), value=False)
    if re.search(r" (on|start|fire up|power up|activate|enable|get .* going|boot up) ", clause):
        return Intent("power", _targets(clause), value=True)
    return None


_SEPARATORS = r"(\s*(?:,\s*then|\bthen\b|\band also\b|\band\b|\bplus\b|\bas well as\b|[.,;])\s*)"


def parse(utterance: str) -> list[Intent]:
    """Split the utterance into clauses that each carry an action and a target; parse each.

    A piece without its own action or target ("..., turn it off", "... and the lamp") stays
    with the clause before it, joined by the separator it came with, except two follow-ups:
    "and dim it to 20" (another kind of action on the same device: `it`) and "and the heater
    in the bathroom too" (the same action on another device: `also`). Then, in order:
    "in there" (also "in that room") is the room named last before it; a clause that only
    says why ("it's stuffy in here", "the study's a bit dim": a state and no device) is
    dropped beside a real request, whose unplaced devices prefer the room it names.
    """
    pieces = re.split(_SEPARATORS, utterance)
    clauses: list[list[str]] = []  # [text, how it refers back]
    for index in range(0, len(pieces), 2):
        segment, separator = pieces[index], pieces[index - 1] if index else ""
        if not segment.strip():
            if clauses:
                clauses[-1][0] += separator
            continue
        follow = _follow_up(segment, clauses[-1][0]) if clauses and _complete(clauses[-1][0]) else None
        if clauses and _complete(segment) and _complete(clauses[-1][0]):
            clauses.append([segment, "own"])
        elif follow:
            clauses.append([segment, follow])
        elif clauses:
            clauses[-1][0] += separator + segment
        else:
            clauses.append([segment, "own"])
    intents: list[Intent] = []
    last_room = None
    for text, refers in clauses:
        norm = normalise(text)
        intent = parse_clause(norm, text)
        previous = intents[-1] if intents else None
        if refers == "it" and intent and previous:
            intent.targets, intent.same_as = [copy.copy(t) for t in previous.targets], previous
        elif refers == "also" and previous:
            intent = dataclasses.replace(previous, targets=_targets(norm), reason=False, same_as=None)
        if intent and last_room and re.search(r" (in|from|out of) there | in (that|the same) room ", norm):
            for target in intent.targets:
                if not (target.room or target.everything):
                    target.room = last_room
        rooms = _find_spans(norm, _ROOM_WORDS)
        if rooms:
            last_room = _room(rooms[0][2])
        if intent:
            intents.append(intent)
    if any(not intent.reason for intent in intents):
        why = next((t.room for i in intents if i.reason for t in i.targets if t.room), None)
        intents = [intent for intent in intents if not intent.reason]
        for target in (t for intent in intents for t in intent.targets):
            if why and not (target.room or target.floor or target.everything or target.hint):
                target.hint = why
    return intents


def _follow_up(segment: str, previous: str) -> str | None:
    """How a piece without a complete request of its own continues the clause before it."""
    norm = normalise(segment)
    intent = parse_clause(norm, segment)
    if intent is None:
        return "also" if _find_spans(re.sub(r"@[a-z]+", " ", norm), _NOUNS) else None
    if not re.search(r" (it|them) ", norm) or any(t.room or t.noun for t in intent.targets):
        return None
    before = parse_clause(normalise(previous), previous)
    relative = {i.quantity for i in (intent, before) if i and i.value is None and i.quantity not in ("media", "timer")}
    if before is None or len(relative) == 2 or (not relative and intent.quantity == before.quantity) or len(relative) == 1 and intent.quantity == "auto":
        return None
    return "it"


def _complete(clause: str) -> bool:
    norm = normalise(clause)
    intent = parse_clause(norm, clause)
    named = any(t.room or t.noun or t.floor or t.everything for t in intent.targets) if intent else False
    return intent is not None and (intent.quantity in ("timer", "temperature") or intent.reason or named)


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
        same = {i: next((k for k, other in enumerate(intents) if other is intent.same_as), None) for i, intent in enumerate(intents)}
        lookups = [
            _tool_call(f"find_{i}_{j}", "find_devices", _find_arguments(intent, target))
            for i, intent in enumerate(intents)
            for j, target in enumerate(intent.targets)
            if f"find_{i}_{j}" not in results and same[i] is None
        ]
        if lookups:
            return {"role": "assistant", "content": None, "tool_calls": lookups}
        resolved = []
        for i, intent in enumerate(intents):
            devices = []
            if same[i] is not None:  # "it": the device the earlier action found
                resolved.append(list(resolved[same[i]]))
                continue
            for j, target in enumerate(intent.targets):
                found = results[f"find_{i}_{j}"]
                if isinstance(found, dict) and "error" in found:
                    room = target.room or "room"
                    return {"role": "assistant", "content": P.REPLY_NO_ROOM.format(room=room)}
                if target.noun == "lamp":  # any lamp-like light, a plain lamp first
                    found = sorted((d for d in found if "lamp" in d["name"]), key=lambda d: d["name"] not in KINDS["lamp"].names)
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
        calls = [call for n, call in enumerate(calls) if call not in calls[:n]]  # one request, never the same call twice
        tool_calls = [_tool_call(f"act_{n}", name, arguments) for n, (name, arguments) in enumerate(calls)]
        return {"role": "assistant", "content": None, "tool_calls": tool_calls}


def _kind_of(noun: str | None) -> str | None:
    return next((k for k, kind in KINDS.items() if noun in kind.names), None)


def _find_arguments(intent: Intent, target: Target) -> dict:
    arguments = {}
    if target.room:
        arguments["room"] = target.room
    if target.floor and not target.room:  # a named room is on its own floor ("the downstairs tv and the bathroom light")
        arguments["floor"] = target.floor
    if target.noun:
        arguments["query"] = "light" if target.noun in ("lights", "lamp") else target.noun
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
