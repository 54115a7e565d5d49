"""The hand-written held-out set of smart_home: `handwritten.jsonl`, beside this module.

Why: the generator's test split is scored on the generator's own world (its templates,
synonyms and homes, held-out templates included), so a student can do well there and still
fail the way people actually talk to a home. This set was written by hand, request by
request, without the generator or its phrasing: 152 requests over six homes whose layouts
differ (a one-level flat, a two-floor family house, a studio, a townhouse with an office
upstairs, a small cottage, a loft with a mezzanine bedroom).

What it covers: indirect requests ("i'm freezing", "way too dark in the kitchn"), vague
quantities ("a tad dimmer", "turn the heat up loads"), devices named by where they stand
or what they are for ("the lamp by the sofa", "my desk lamp", "the kitchen radio", "the
music", "the big light"), several actions in one sentence, small talk and thanks, rooms,
devices and capabilities the home lacks, typos and casual spelling. Follow-ups that refer
back to an earlier turn ("and the other one too", "no, warmer than that") are left out:
an example here is one utterance and one home, and supertiny has no multi-turn format.

Format: the rows of `data/task/test.jsonl` (id, input, context, category, gold), plus an
optional `note` saying why the gold is what it is; `prepare` checks every row
(`supertiny.held_out`) and copies the set to `data/task/handwritten.jsonl`, `evaluate`
scores it as a split of its own (`handwritten_*` metrics), nothing trains on it, and
`prepare` stops if the generator ever draws one of its requests into train or dev.

The gold follows the task's conventions (the teacher's system prompt, `agent.py`):
- categories mean what they mean in the generator: `simple` one set_power, `multiple` one
  call of another action, `parallel` several calls, `relative` one change from the current
  state, `irrelevance` a reply and no call;
- relative changes: unspecified or small ("a bit", "a tad", "a touch", "a notch") is 1
  degree or 10 percent, "much", "a lot", "way" (and "waaay", "loads") 3 degrees or 30
  percent, "by N" is N, clamped to the range (volume 85 "a lot louder" is 100); "to N",
  "up to N", "down to N" are targets, not steps;
- "all the lights (upstairs)" is every light (on that floor) and "everything in a room"
  every device in it, whatever their state;
- a request for something the home lacks gets the task's reply for it (no such room, no
  such device, the device can't do that), small talk and thanks the not-about-the-home
  reply. Exact match accepts any reply where the gold is one (`supertiny.score`); the
  wording only moves the similarity;
- a media query is the user's words for what to play; a timer has a label only when the
  user names what it is for.
A device is named indirectly only where this home's data leaves one candidate ("the lamp
by the sofa" in a living room with one lamp; "the music" where one speaker is on);
requests that stayed ambiguous were rewritten, not given an arbitrary gold. The golds are
checked against the tool schemas and the home (the device exists and has the capability),
not against the judge's word-evidence heuristic, which by design flags indirect names.
"""

from __future__ import annotations

from pathlib import Path

HANDWRITTEN_FILE = Path(__file__).with_name("handwritten.jsonl")
