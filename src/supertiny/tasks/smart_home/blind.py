"""The blind held-out set of smart_home: `blind.jsonl`, beside this module.

Why: the hand-written set (`handwritten.py`) is no longer blind. The reference teacher's
rules and the generator were broadened from the classes of wording behind the teacher's
misses on it, so its figures there say that those classes are covered, not how anything
copes with wording nobody here has tuned for. This second set was written to measure that.

Who and how: written by one author (an assistant working from a brief) in one sitting, from
the task's spec only: the tool schemas (`tools.py`), the home's data model (`home.py`: rooms,
device kinds, capabilities, state fields, `context_problems`), the gold conventions listed in
`handwritten.py` and the teacher's system prompt (`TEACHER_SYSTEM_PROMPT`, for the reply
wordings), and the row checks (`supertiny.held_out`, `supertiny.score`). Blind to: the
generator and its phrasings (`generator.py`, `phrasing.py`), the reference agent's rules
(`agent.py`), the hand-written set's rows, everything under `data/` and the tests holding
example requests. Two chit-chat rows ("cheers mate", "tell me a joke") were lengthened
because the kept-out check (`check_kept_out`) found the generator draws the same words into
train or dev at the shipped seed; nothing else was
changed after the set was checked or after the teacher was scored on it, and nothing may be:
a set tuned to the teacher's misses is not blind any more (`handwritten.py`'s fate). Nothing
trains on it and the teacher and generator must not be changed because of what it shows.

Homes: 141 requests over six homes, each its own layout and state (some devices on, some
off, various brightness, colour, volume and temperature):
- `blind-flat`: a shared flat on one level (everything "downstairs"): kitchen, living room,
  hallway, bathroom, bedroom and a spare room with its own heater;
- `blind-bungalow`: one level with a dining room and a garage; the bedroom has a lamp and no
  ceiling light, two speakers and two TVs in different rooms, one thermostat;
- `blind-semi`: a three-bedroom semi over two floors (bedroom, kids room, guest room and
  bathroom upstairs), two thermostats (hallway downstairs, bedroom upstairs);
- `blind-studio`: one main room (the "living room", eight devices) with a kitchenette and a
  shower room;
- `blind-lamps`: a house full of lamps (table lamps, floor lamps and led strips in most
  rooms), no bathroom in its data, a kids room with no ceiling light;
- `blind-town`: a townhouse with a garage, the living space downstairs and an office,
  bedroom and bathroom upstairs.

What it covers, in roughly equal parts (simple 26, multiple 30, parallel 29, relative 31,
irrelevance 25): terse commands ("garage light on", "20 min timer"), polite requests, voice
dictation and wake words ("okay google set a timer for forty five minutes", "Alexa, turn off
all the lights downstairs."), indirect statements ("can't see a thing in the hall", "bit
chilly in here", "its roasting in our bedroom", "the office is stuffy"), vague amounts ("a
smidge", "a touch", "loads", "WAY too loud"), devices named by what they are, where they are
or what they are for ("the big light", "the strip under the kitchen cabinets", "the kitchen
radio", "the standing lamp"), slang and typos ("telly on n volume to 15", "turn of the kitchn
light", "thermostst up by 2"), two or three actions in one sentence, "in there" and "the one
in the bedroom", "all the lights (upstairs/downstairs)" and "everything in the living room",
rooms, devices and capabilities the home lacks, small talk, thanks and questions that need
no action.

Format: the rows of `handwritten.jsonl` (id, input, context, category, gold, optional `note`
saying why a non-obvious gold is what it is); `prepare` checks every row and copies the set
to `data/task/blind.jsonl`, `evaluate` scores it as a split of its own (`blind_*` metrics).
The rows are ordered so any prefix (`evaluate.held_out_limit`) keeps the categories balanced.

The golds follow `handwritten.py`'s conventions exactly: relative changes of 1 degree or 10
percent when small or unspecified ("a bit", "a touch", "a smidge", "a tad", "a notch",
"louder", "its freezing"), 3 degrees or 30 percent for "a lot", "loads", "way", "by N" a step
of N, clamped (a tv at 85 "up a lot" is 100), "to N" a target; an indirect request acts on the
named room's device that helps (the home's only one when no room is named): cold and hot move
the thermostat a degree, dark switches an off light on or brightens an on one, stuffy switches
the air purifier on; a clause that only says why adds no call; "all the lights" and
"everything in a room" act on every such device whatever its state; a media query and a timer
label are the user's words for it; replies are the task's four (any reply matches a reply
gold in exact match). A device named indirectly has one candidate in its home, requests that
could mean two devices were rewritten, and no request but "all"/"everything" ones acts on a
device already in the asked state or asks for brightness, colour, volume or media on a device that is off (unless it also
asks for it to be switched on). Each gold was checked against the tool schemas and its home
(the device exists and has the capability, relative values step from the current state).
"""

from __future__ import annotations

from pathlib import Path

BLIND_FILE = Path(__file__).with_name("blind.jsonl")
