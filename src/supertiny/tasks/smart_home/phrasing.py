"""How people say things to a smart home: templates, synonyms, numbers in words, typos.

Every template, media query, timer label and chit-chat line has a stable id; those whose
index is 2 mod 3 are *held out*: they appear in dev/test only, so the test split holds
phrasings that train never shows.

Conventions shared by the generator's gold and the reference teacher (`agent.py`):
- relative steps (`STEPS`): unspecified or small ("a bit", "a little", "slightly", "a tad",
  "a touch", "a notch") is 1 degree or 10 percent (brightness, volume); big (`BIG_WORDS`:
  "much", "a lot", "way", "way too", "loads", "really", "far") is 3 degrees or 30 percent;
  "by N" is N; "to N" (also "up to N") is a target, not a step; results clamp to the range;
- indirect requests act on the room's first device that can help (helpers list a room's
  ceiling light first), or on the home's only one when no room is named: cold/chilly/
  freezing warms the thermostat, hot/boiling cools it, dark brightens a light (and switches
  it on first if it is off: that is the whole answer), too bright dims it, too loud/can't
  hear change the volume, stuffy/stale air switches the air purifier on;
- nicknames (`NICKNAMES`) name a device kind, some with the room they usually stand in
  ("the big light" is a ceiling light, "the strip" an led strip, "the music" a speaker,
  "my desk lamp" a lamp, preferably the office one); "lamp" is any lamp-like light (a lamp,
  else a floor lamp), and a lamp named by its furniture (`FURNITURE_LAMPS`: "the sofa lamp")
  is one of that room's; a room may be named by who it belongs to (`ROOM_OWNERS`: "the kids'
  lamp", "their room" after "the kids are asleep"), run together ("livingroom"), and a
  device by its floor ("the tv downstairs") where it is the only one of its kind there;
- how a device is ("the tv's a bit loud", "a bit dim", "too quiet") and a bare direction
  ("the music up a bit") are relative requests; "more light from", "less heat in" too;
- one request refers back inside itself: "in there" is the room named before it, "it" the
  device of the action before ("set the strip to purple and dim it to 20": two calls), and
  "and the heater in the bathroom too" repeats the action on another device; a clause that
  only says why (`REASONS`: "it's stuffy in here" beside "purifier on") adds no call, and
  the devices of the request prefer the room it names; the floor a request is about is the
  first it names ("lights off upstairs, everyone's downstairs now"); no call is answered twice;
- durations in hours ("an hour and a half") are minutes (`_IN_HOURS`);
- a place no home of this task has (`NOT_ROOMS`: "the garden lights") gets the no-room reply,
  thanks and small talk the not-about-the-home reply.
"""

from __future__ import annotations

import random
import string

_ONES = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def number_to_words(n: int) -> str:
    if n < 20:
        return _ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _TENS[tens] + ("" if ones == 0 else " " + _ONES[ones])
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        head = "a hundred" if hundreds == 1 else f"{_ONES[hundreds]} hundred"
        return head + ("" if rest == 0 else " and " + number_to_words(rest))
    return str(n)


def held_out(index: int) -> bool:
    """Items whose index is 2 mod 3 belong to the evaluation splits only."""
    return index % 3 == 2


def pick(rng: random.Random, items: list, split: str, prefix: str) -> tuple[str, object]:
    """Choose an item allowed in this split; return (stable id, item)."""
    allowed = [(i, item) for i, item in enumerate(items) if split != "train" or not held_out(i)]
    index, item = rng.choice(allowed)
    return f"{prefix}/{index}", item


def number(rng: random.Random, n: int, words_prob: float = 0.3) -> str:
    return number_to_words(n) if rng.random() < words_prob else str(n)


def percent(rng: random.Random, n: int) -> str:
    if n == 50 and rng.random() < 0.3:
        return "half"
    if n == 100 and rng.random() < 0.4:
        return "full"
    return rng.choice(["{} percent", "{}%", "{} per cent", "{}"]).format(number(rng, n))


def degrees(rng: random.Random, n: int) -> str:
    return rng.choice(["{} degrees", "{} degrees celsius", "{} degrees c", "{}°"]).format(number(rng, n))


def minutes(rng: random.Random, n: int) -> str:
    if n == 30 and rng.random() < 0.4:
        return "half an hour"
    if n == 60 and rng.random() < 0.5:
        return rng.choice(["an hour", "one hour"])
    if n in _IN_HOURS and rng.random() < 0.5:
        return rng.choice(_IN_HOURS[n])
    return rng.choice(["{} minutes", "{} mins", "{} min"]).format(number(rng, n))


# Durations people say in hours or quarters (the teacher reads them back as minutes).
_IN_HOURS = {
    15: ["a quarter of an hour"], 45: ["three quarters of an hour"], 90: ["an hour and a half", "one and a half hours", "1.5 hours"],
    120: ["two hours", "2 hours"], 180: ["three hours", "3 hours"],
}

POWER_ON = [
    "turn on {dev}", "switch on {dev}", "turn {dev} on", "{dev} on", "power up {dev}",
    "can you turn on {dev}", "switch {dev} on please", "i need {dev} on", "put {dev} on",
    "start {dev}", "fire up {dev}", "could you switch {dev} on for me",
    "activate {dev}", "get {dev} going", "can i have {dev} on", "pop {dev} on", "{dev} on, cheers", "bring {dev} on",
]
POWER_OFF = [
    "turn off {dev}", "switch off {dev}", "turn {dev} off", "{dev} off", "shut off {dev}",
    "kill {dev}", "power down {dev}", "can you switch {dev} off", "i don't need {dev} any more, turn it off",
    "shut {dev} down", "switch {dev} off now", "could you turn {dev} off for me",
    "deactivate {dev}", "{dev} off please, i'm done with it", "cut {dev}", "pop {dev} off", "can you get {dev} off", "turn {dev} off, cheers",
]
BRIGHTNESS = [
    "set {dev} to {pct}", "dim {dev} to {pct}", "{dev} at {pct}", "brightness of {dev} to {pct}",
    "change {dev} brightness to {pct}", "put {dev} at {pct} brightness", "make {dev} {pct} bright",
    "{dev} brightness {pct} please", "adjust {dev} to {pct}", "set the brightness on {dev} to {pct}",
    "can you bring {dev} to {pct}", "i want {dev} at {pct}",
]
COLOR = [
    "make {dev} {color}", "set {dev} to {color}", "change {dev} to {color}", "turn {dev} {color}",
    "i want {dev} in {color}", "switch {dev} color to {color}", "{color} on {dev} please",
    "change the colour of {dev} to {color}", "can {dev} go {color}", "set {dev} colour to {color}",
    "{dev} to {color}", "paint {dev} {color}",
]
TEMPERATURE = [
    "set {dev} to {deg}", "{dev} to {deg}", "make it {deg} in {room}", "i want it {deg} in {room}",
    "heat {room} to {deg}", "change {dev} to {deg}", "{deg} on {dev}", "set the temperature in {room} to {deg}",
    "can you put {dev} on {deg}", "{room} temperature {deg} please", "adjust {dev} to {deg}", "keep {room} at {deg}",
]
VOLUME = [
    "set the volume of {dev} to {n}", "{dev} volume {n}", "volume {n} on {dev}", "turn {dev} volume to {pct}",
    "change {dev} volume to {n}", "make {dev} volume {n}", "put the volume on {dev} at {n}", "{dev} volume to {pct} please",
    "set {dev} volume at {n}", "can you set {dev} to volume {n}", "adjust the volume of {dev} to {n}", "i want {dev} at volume {n}",
]
MEDIA = [
    "play {query} on {dev}", "put {query} on {dev}", "i want to hear {query} on {dev}", "stream {query} on {dev}",
    "play {query} in {room}", "start playing {query} on {dev}", "can you play {query} on {dev}", "{dev}, play {query}",
    "queue up {query} on {dev}", "put on {query} in {room}", "let's have {query} on {dev}", "i'd like {query} on {dev}",
    # "put X on", "stick X on", "can I get X on": the same verbs that switch a device on, with a show
    "put {query} on in {room}", "stick {query} on {dev}", "whack {query} on {dev}",
    "can i get {query} on {dev}", "put {query} on {dev} for me", "pop {query} on in {room}",
]
TIMER = [
    "set a timer for {mins}", "timer {mins}", "start a {n} minute timer", "remind me in {mins}",
    "{n} minute timer please", "count down {mins}", "set a timer for {mins} for the {label}", "timer for the {label}, {mins}",
    "set a {n} minute timer for the {label}", "start a timer for {mins}", "{label} timer, {mins}", "can you time {mins} for the {label}",
]
# Relative changes: (template, step) where step is "small", "big" or "given" (the {k} in the text).
WARMER = [
    ("make it a bit warmer in {room}", "small"), ("{room} is too cold", "small"), ("turn up the heat in {room}", "small"),
    ("warm up {room} a little", "small"), ("it's freezing in {room}, much warmer please", "big"), ("raise {dev} by {k} degrees", "given"),
    ("bump {dev} up a degree", "small"), ("a lot warmer in {room} please", "big"), ("{room} could be slightly warmer", "small"),
    ("turn {dev} up", "small"), ("can you make {room} way warmer", "big"), ("increase {dev} by {k}", "given"),
]
COOLER = [
    ("make it a bit cooler in {room}", "small"), ("{room} is too hot", "small"), ("turn down the heat in {room}", "small"),
    ("cool {room} down a little", "small"), ("it's boiling in {room}, much cooler please", "big"), ("lower {dev} by {k} degrees", "given"),
    ("drop {dev} a degree", "small"), ("a lot cooler in {room} please", "big"), ("{room} could be slightly cooler", "small"),
    ("turn {dev} down", "small"), ("can you make {room} way colder", "big"), ("decrease {dev} by {k}", "given"),
]
BRIGHTER = [
    ("make {dev} brighter", "small"), ("{dev} a bit brighter", "small"), ("brighten {dev}", "small"),
    ("{dev} is too dark", "small"), ("turn {dev} up a lot", "big"), ("raise {dev} by {k} percent", "given"),
    ("much brighter {dev} please", "big"), ("bump up {dev}", "small"), ("{dev} slightly brighter", "small"),
    ("turn up {dev} by {k} percent", "given"), ("increase the brightness of {dev}", "small"), ("{dev} way brighter", "big"),
]
DIMMER = [
    ("dim {dev} a bit", "small"), ("{dev} a little dimmer", "small"), ("{dev} is too bright", "small"),
    ("make {dev} dimmer", "small"), ("turn {dev} down a lot", "big"), ("lower {dev} by {k} percent", "given"),
    ("much dimmer {dev} please", "big"), ("dim {dev}", "small"), ("{dev} slightly darker", "small"),
    ("turn down {dev} by {k} percent", "given"), ("decrease the brightness of {dev}", "small"), ("{dev} way dimmer", "big"),
]
LOUDER = [
    ("turn {dev} up", "small"), ("louder on {dev}", "small"), ("{dev} a bit louder", "small"),
    ("can't hear {dev}, turn it up a lot", "big"), ("raise the volume on {dev} by {k}", "given"), ("volume up on {dev}", "small"),
    ("make {dev} much louder", "big"), ("{dev} slightly louder", "small"), ("pump up {dev}", "small"),
    ("increase {dev} volume by {k}", "given"), ("{dev} louder please", "small"), ("turn up the volume on {dev}", "small"),
]
QUIETER = [
    ("turn {dev} down", "small"), ("quieter on {dev}", "small"), ("{dev} a bit quieter", "small"),
    ("{dev} is way too loud", "big"), ("lower the volume on {dev} by {k}", "given"), ("volume down on {dev}", "small"),
    ("make {dev} much quieter", "big"), ("{dev} slightly quieter", "small"), ("keep {dev} down a little", "small"),
    ("decrease {dev} volume by {k}", "given"), ("{dev} softer please", "small"), ("turn down the volume on {dev}", "small"),
]
WARMER += [
    ("make {room} a tad warmer", "small"), ("warm {room} up a touch", "small"), ("{room} a notch warmer please", "small"),
    ("turn the heating up loads in {room}", "big"), ("it's really cold in {room}", "big"), ("crank up the heating in {room}", "small"),
]
COOLER += [
    ("make {room} a tad cooler", "small"), ("cool {room} a touch", "small"), ("{room} a notch cooler please", "small"),
    ("turn the heating down loads in {room}", "big"), ("it's really hot in {room}", "big"), ("turn the heating down in {room}", "small"),
]
BRIGHTER += [
    ("{dev} a tad brighter", "small"), ("{dev} a touch brighter please", "small"), ("turn {dev} up a notch", "small"),
    ("{dev} loads brighter", "big"), ("{dev} is way too dark", "big"), ("turn {dev} up a little bit", "small"),
]
DIMMER += [
    ("{dev} a tad dimmer", "small"), ("{dev} a touch darker please", "small"), ("turn {dev} down a notch", "small"),
    ("{dev} loads dimmer", "big"), ("{dev} is way too bright", "big"), ("turn {dev} down a little bit", "small"),
]
LOUDER += [
    ("{dev} a tad louder", "small"), ("turn {dev} up a notch", "small"), ("i can't hear {dev}", "small"),
    ("{dev} loads louder", "big"), ("crank up {dev}", "small"), ("turn {dev} up a little bit", "small"),
]
QUIETER += [
    ("{dev} a tad quieter", "small"), ("turn {dev} down a notch", "small"), ("{dev} is too loud", "small"),
    ("{dev} loads quieter", "big"), ("{dev} is so loud, way down please", "big"), ("turn {dev} down a little bit", "small"),
]
# A device and a direction with no verb ("the music up a bit"), how a room or device is
# ("a bit quiet", "a bit loud", "a bit dim"), more or less of what it gives ("more light from").
WARMER += [
    ("{dev} up a bit", "small"), ("a bit more heat in {room}", "small"), ("{dev} up a lot", "big"),
    ("more heat in {room} please", "small"), ("{dev} up by {k}", "given"), ("could i have a bit more heat in {room}", "small"),
]
COOLER += [
    ("{dev} down a bit", "small"), ("a bit less heat in {room}", "small"), ("{dev} down a lot", "big"),
    ("less heating in {room} please", "small"), ("{dev} down by {k}", "given"), ("{dev} down a notch", "small"),
]
BRIGHTER += [
    ("{dev} up a bit", "small"), ("a bit more light from {dev}", "small"), ("{dev} is a bit dim", "small"),
    ("more light from {dev} please", "small"), ("{dev} up a lot", "big"), ("{dev} is way too dim", "big"),
]
DIMMER += [
    ("{dev} down a bit", "small"), ("a bit less light from {dev}", "small"), ("dim {dev} a touch", "small"),
    ("less light from {dev} please", "small"), ("{dev} down a lot", "big"), ("{dev} is far too bright", "big"),
]
LOUDER += [
    ("{dev} up a bit", "small"), ("{dev} is a bit quiet", "small"), ("{dev} is too quiet", "small"),
    ("a bit more volume on {dev}", "small"), ("{dev} up a lot", "big"), ("{dev}'s far too quiet", "big"),
]
QUIETER += [
    ("{dev} down a bit", "small"), ("{dev} is a bit loud", "small"), ("{dev}'s a little loud", "small"),
    ("a bit less volume on {dev}", "small"), ("{dev} down a lot", "big"), ("{dev} is really loud", "big"),
]
# Steps the task defines for relative requests (the teacher's instructions state them too).
STEPS = {"temperature": {"small": 1, "big": 3}, "brightness": {"small": 10, "big": 30}, "volume": {"small": 10, "big": 30}}
BIG_WORDS = r" (a lot|much|way|lot|lots|loads|heaps|crank it|really|massively|tons|far) "

# Indirect requests: (template, quantity, sign, step); {room} is "the kitchen", {where} "in the kitchen" or "in here".
INDIRECT = [
    ("it's cold {where}", "temperature", +1, "small"), ("i'm freezing {where}", "temperature", +1, "small"),
    ("it's way too cold {where}", "temperature", +1, "big"), ("brr, it's chilly {where}", "temperature", +1, "small"),
    ("it's too hot {where}", "temperature", -1, "small"), ("i'm boiling {where}", "temperature", -1, "small"),
    ("it's way too warm {where}", "temperature", -1, "big"), ("it's roasting {where}", "temperature", -1, "small"),
    ("it's too dark {where}", "brightness", +1, "small"), ("i can't see a thing {where}", "brightness", +1, "small"),
    ("it's way too dark {where}", "brightness", +1, "big"), ("it's a bit dark {where}", "brightness", +1, "small"),
    ("it's too bright {where}", "brightness", -1, "small"), ("the light is blinding {where}", "brightness", -1, "small"),
    ("it's way too bright {where}", "brightness", -1, "big"), ("it's too loud {where}", "volume", -1, "small"),
    ("it's so stuffy {where}", "air", +1, "small"), ("the air is stale {where}", "air", +1, "small"),
    ("it smells musty {where}", "air", +1, "small"), ("i can't hear anything {where}", "volume", +1, "small"),
    ("it's way too loud {where}", "volume", -1, "big"),
]
# Nicknames, as regular expressions over the teacher's normalised text, and what they stand for
# ("@slug" prefers that room's device). The generator uses the plain-word ones in `NICKNAME_PHRASES`.
NICKNAMES = [
    (r"(big|top|overhead|main|ceiling) lights?", "ceiling light"),
    (r"(desk|work|reading) (lamp|light)|(lamp|light) (on|by) (the|my) desk", "@office lamp"),
    (r"(bedside|nightstand) (lamp|light)|(lamp|light) (by|next to|beside) (the|my) bed", "@bedroom lamp"),
    (r"(lamp|light) (by|next to|beside|near|behind) (the|my) (sofa|couch|settee|armchair)|(sofa|couch|settee) lamp", "@living lamp"),
    (r"(standing|tall|corner|standard) lamp", "floor lamp"),
    (r"leds|led lights?|strip lights?|light strip|fairy lights|mood lights?|lightstrip|led strip lights?|(?<!led )(?<!light )strip", "led strip"),
    (r"(the|my) music|music|radio(?! \d)|stereo|sound system|bluetooth speaker", "speaker"),
    (r"telly|tele|tv set|teevee|tellie|television", "tv"),
    (r"central heating|radiators?|(?<=the )heat(?! up)|(?<=my )heat(?! up)", "heating"),
    (r"espresso machine|coffee machine|coffeemaker", "coffee maker"),
    (r"air filter|air cleaner|air purifier|purifier", "air purifier"),
    (r"electric heater|fan heater|space heater|heater", "heater"),
]
NICKNAME_PHRASES = {
    "ceiling_light": ["big light", "top light", "main light"], "lamp": ["desk lamp"], "floor_lamp": ["standing lamp", "tall lamp"],
    "led_strip": ["leds", "fairy lights", "strip lights", "strip", "light strip"], "speaker": ["radio", "stereo", "music"],
    "tv": ["telly", "tv set"], "thermostat": ["heating", "central heating", "radiators"],
    "coffee_maker": ["espresso machine"], "air_purifier": ["air filter"], "heater": ["electric heater"],
}
# Lamps named by the furniture they stand by, and the room that furniture is in: the
# generator names a lamp-like light (lamp, floor lamp) of that room this way, and the teacher
# reads "lamp" as any lamp-like light, the plain lamp first.
FURNITURE_LAMPS = {
    "office": ["desk lamp", "lamp on the desk", "reading lamp"],
    "bedroom": ["bedside lamp", "lamp next to the bed", "lamp by my bed"],
    "living room": ["sofa lamp", "lamp by the sofa", "lamp next to the couch", "couch lamp"],
}
# Rooms named by who sleeps or stays there: "the kids' lamp", "their room" after "the kids are asleep".
ROOM_OWNERS = {"kids room": ["kids", "kid", "children", "child", "baby"], "guest room": ["guests", "guest"]}

# Places people name that no home of this task has.
NOT_ROOMS = ["garden", "back garden", "patio", "porch", "basement", "attic", "balcony", "backyard", "yard", "driveway",
             "conservatory", "utility room", "laundry room", "cellar", "shed", "terrace", "gym", "sunroom", "pantry", "games room"]

ALL_LIGHTS = [
    "turn {onoff} all the lights {floor}", "switch {onoff} every light {floor}", "all lights {floor} {onoff}",
    "lights {floor} {onoff} please", "turn all the lights {floor} {onoff}", "can you switch {onoff} the lights {floor}",
    "i want every light {floor} {onoff}", "put all the lights {floor} {onoff}", "every single light {floor} {onoff}",
    "lights {onoff} {floor}", "turn {onoff} all of the lights {floor}", "could you turn {onoff} every light {floor}",
]
EVERYTHING_IN_ROOM = [
    "turn {onoff} everything in {room}", "switch everything {onoff} in {room}", "all devices in {room} {onoff}",
    "power {onoff} everything in {room}", "everything in {room} {onoff} please", "can you turn {onoff} all the devices in {room}",
    "everything {onoff} in {room}", "turn {onoff} every device in {room}", "switch {onoff} all of {room}",
]
TWO_DEVICES_POWER = [
    "turn {onoff} {dev} and {dev2}", "switch {dev} and {dev2} {onoff}", "{dev} and {dev2} {onoff} please",
    "turn {onoff} {dev} as well as {dev2}", "{onoff} with {dev} and {dev2}", "both {dev} and {dev2} {onoff}",
    # the second device after the first one's action: the same action ("and the heater too")
    "{dev} {onoff} and {dev2} too", "turn {onoff} {dev}, and {dev2} as well", "switch {onoff} {dev}, {dev2} too",
    "{dev} {onoff}, and {dev2} too please", "turn {dev} {onoff} and {dev2} as well", "{dev} {onoff} and also {dev2}",
]
# Follow-ups that refer back inside one request, after a first action ({a}):
# "in there" is the room {a} named ({dev2} is "the lamp in there"); "it" is {a}'s device.
SAME_ROOM_JOINERS = ["{a} and {b}", "{a}, then {b}", "{a}, and {b}", "{a}. {b}", "{a} and also {b}", "{a}, {b} too"]
THERE = ["the {name} in there", "the {name} in there", "the {name} in that room"]
IT_FOLLOW_UPS = {
    "power": ["turn it on", "switch it on", "put it on", "get it on", "turn it on first", "switch it on please"],
    "brightness": ["dim it to {pct}", "set it to {pct}", "put it at {pct}", "set it at {pct} brightness", "make it {pct} bright", "bring it to {pct}"],
    "color": ["make it {color}", "turn it {color}", "change it to {color}", "set it to {color}", "switch it to {color}", "make it go {color}"],
    "volume": ["set it to volume {n}", "turn it to volume {n}", "put it on volume {n}", "volume {n} on it", "set the volume on it to {n}", "put it at volume {n}"],
    "media": ["play {query} on it", "put {query} on it", "stick {query} on it", "stream {query} on it", "play {query} on it please", "queue up {query} on it"],
}
IT_JOINERS = ["{a} and {b}", "{a}, then {b}", "{a}, and {b}", "{a} and then {b}", "{a}, {b}", "{a}. {b}"]

# Why a request is made, said beside it ("it's stuffy in here"): the request alone is the
# answer (the teacher drops a clause that only states how a room is when another asks for
# something, and places the request's devices in the room it names). Keys: what the request does.
REASONS = {
    "light_on": ["it's too dark {where}", "i can't see a thing {where}", "it's pitch black {where}", "it's getting dark {where}"],
    "light_off": ["it's too bright {where}", "it's way too bright {where}", "it's so bright {where}"],
    "warm": ["it's freezing {where}", "it's so cold {where}", "brr, it's chilly {where}", "it's way too cold {where}"],
    "cool": ["it's boiling {where}", "it's way too hot {where}", "it's roasting {where}", "it's so warm in here"],
    "air": ["it's stuffy {where}", "the air is stale {where}", "it smells musty {where}", "it's so stuffy {where}"],
    "quiet": ["it's too loud {where}", "it's so loud {where}", "it's way too loud {where}"],
}
REASONED = ["{action}, {reason}", "{reason}, {action}", "{reason}. {action}", "{action}. {reason}", "{reason}, so {action}", "{reason}; {action}"]
# Why the lights on a floor go off: the floor it names comes after the one the request is about.
FLOOR_REASONS = ["everyone's {other} now", "we're all {other}", "i'm {other} now", "nobody's {floor} any more", "we're {other} tonight", "we've all gone {other}"]
# People whose room it is: "the kids' lamp", "their room" after "the kids are asleep".
OWNER_REASONS = {
    "kids room": ["the kids are asleep", "the kids are in bed", "the children are sleeping", "the kids have gone to bed"],
    "guest room": ["our guests are asleep", "the guests have gone to bed", "our guests are out", "the guests are sleeping"],
}
OWNER_PHRASES = {"kids room": ["the kids' {name}", "the children's {name}", "the kids {name}"], "guest room": ["the guests' {name}", "the guest {name}"]}
JOINERS = ["{a} and {b}", "{a}, then {b}", "{a} and also {b}", "{a}. {b}", "{a}, and {b}", "{a} plus {b}"]

QUERIES = [
    "jazz", "the news", "lo-fi beats", "classical music", "rock music", "the beatles", "taylor swift",
    "bbc radio 4", "cartoons", "the weather forecast", "chill music", "a cooking show", "the football",
    "miles davis", "a nature documentary", "pop hits", "white noise", "a true crime podcast",
    # radio stations, podcasts and programmes by name
    "radio 1", "smooth radio", "the shipping forecast", "a history podcast", "the cricket", "absolute radio",
    "match of the day", "the morning show", "country music radio", "a comedy podcast", "bluey", "the golf",
]
LABELS = ["pasta", "eggs", "laundry", "pizza", "tea", "oven", "cake", "rice", "bread", "roast", "nap", "homework"]
CHITCHAT = [
    "what's the capital of france", "tell me a joke", "who won the world cup", "how are you today",
    "what time is it in tokyo", "order me a pizza", "book a table for two tonight", "what's 17 times 3",
    "send a text to mom", "translate hello into spanish", "how tall is mount everest", "what's the weather tomorrow",
    "who wrote hamlet", "remind me about the dentist on friday", "call my sister", "how do i make pancakes",
    "what's the meaning of life", "add milk to my shopping list", "is it going to rain", "sing me a song",
    "how many days until christmas", "what's my bank balance", "recommend a good book", "buy more coffee beans",
    "thanks", "thank you so much", "good morning", "you're the best", "cheers mate", "that's all for now",
    "great job", "never mind", "good night", "cheers, that's lovely", "hello there", "you're a star",
    "how's it going", "what else can you help with", "are you listening", "ok cool", "nice one, thanks", "love you",
]
REPLY_CHITCHAT = "Sorry, I can only help with the devices in your home."
REPLY_NO_DEVICE = "Sorry, there is no {name} in the {room}."
REPLY_NO_ROOM = "Sorry, this home has no {room}."
REPLY_UNSUPPORTED = "Sorry, the {name} in the {room} can't do that."

_PREFIXES = ["", "", "", "", "", "please ", "hey, ", "ok so ", "hi, ", "hey assistant, ", "um, "]
_SUFFIXES = ["", "", "", "", "", " please", " thanks", " now", " thank you", " asap", " right away"]


def decorate(rng: random.Random, text: str, typo_rate: float, protected: set[str]) -> str:
    """Add politeness, casing, punctuation and (sometimes) a typo to a filled template."""
    text = rng.choice(_PREFIXES) + text + rng.choice(_SUFFIXES)
    if rng.random() < typo_rate:
        text = _typo(rng, text, protected)
    if rng.random() < 0.5:
        text = text[0].upper() + text[1:]
    return text + rng.choice(["", "", ".", "!", "?" if text.lower().startswith(("can", "could")) else "."])


def _typo(rng: random.Random, text: str, protected: set[str]) -> str:
    words = text.split(" ")
    candidates = [
        i for i, w in enumerate(words)
        if len(w) >= 4 and w.isalpha() and w.lower() not in protected
    ]
    if not candidates:
        return text
    i = rng.choice(candidates)
    word = list(words[i])
    kind = rng.choice(["swap", "drop", "double", "near"])
    j = rng.randrange(1, len(word) - 1)
    if kind == "swap":
        word[j], word[j + 1] = word[j + 1], word[j]
    elif kind == "drop":
        del word[j]
    elif kind == "double":
        word.insert(j, word[j])
    else:
        word[j] = rng.choice(string.ascii_lowercase)
    words[i] = "".join(word)
    return " ".join(words)
