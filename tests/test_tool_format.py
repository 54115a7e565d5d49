"""The compact output format: one `name(key=value)` call a line, or a plain reply."""

from __future__ import annotations

import pytest

from supertiny.tool_format import parse_answer, render_answer

CALLS = [
    {"name": "set_brightness", "arguments": {"device": "bedroom_ceiling_light", "level": 90}},
    {"name": "set_power", "arguments": {"device": "kitchen_light", "on": True}},
]


def test_calls_render_one_a_line_with_bare_identifiers():
    assert render_answer(CALLS) == "set_brightness(device=bedroom_ceiling_light, level=90)\nset_power(device=kitchen_light, on=true)"


@pytest.mark.parametrize("arguments", [
    {},
    {"color": "warm white", "label": "tea (green)", "note": 'say "hi", then )'},
    {"flag": "true", "nothing": "null", "none": None, "neg": -5, "ratio": 0.25},  # strings spelled like literals stay strings
    {"items": [1, "a", {"b": [True]}], "nested": {"x": "y"}, "user-id": "U_1"},
    {"city": "Zürich", "digits": "123", "starts_digit": "9lives"},
])
def test_any_json_arguments_round_trip(arguments):
    calls = [{"name": "do_it", "arguments": arguments}, {"name": "other-tool.v2", "arguments": {"a": 1}}]
    text = render_answer(calls)
    assert parse_answer(text) == calls
    assert parse_answer("  " + text.replace("\n", "\n\n") + "\n") == calls


def test_spacing_does_not_matter():
    assert parse_answer("set_power( device = kitchen_light ,on=true )") == [CALLS[1]]
    assert parse_answer('set_power(device="kitchen_light", on=true)') == [CALLS[1]]


def test_reply_is_plain_text():
    assert render_answer("Sorry, no.") == "Sorry, no."
    assert parse_answer("Sorry, no.") == "Sorry, no."
    assert parse_answer("Sorry, the lamp (in the hall) can't do that.\nAnything else?") == "Sorry, the lamp (in the hall) can't do that.\nAnything else?"


@pytest.mark.parametrize("text", [
    "",
    "   \n ",
    "set_power(device=kitchen_light, on=true",  # unterminated
    "set_power(device=kitchen_light on=true)",  # no comma
    "set_power(device=kitchen_light, device=hall_light)",  # key twice
    "set_power(=kitchen_light)",  # no key
    "set_power(device=)",  # no value
    'set_power(device="kitchen_light)',  # open string
    "set_power(device=kitchen_light) and more",  # text after the call
    "set_power(device=kitchen_light)\nDone, the light is on.",  # calls mixed with a reply
])
def test_malformed_output_does_not_parse(text):
    assert parse_answer(text) is None
