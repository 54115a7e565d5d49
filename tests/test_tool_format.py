"""The Hermes output format: rendering and parsing answers."""

from __future__ import annotations

from supertiny.tool_format import parse_answer, render_answer


def test_calls_round_trip():
    calls = [{"name": "set_power", "arguments": {"device": "kitchen_light", "on": True}}, {"name": "set_timer", "arguments": {"minutes": 5}}]
    text = render_answer(calls)
    assert text.count("<tool_call>") == 2
    assert parse_answer(text) == calls
    assert parse_answer("  " + text + "\n") == calls


def test_reply_is_plain_text():
    assert render_answer("Sorry, no.") == "Sorry, no."
    assert parse_answer("Sorry, no.") == "Sorry, no."


def test_malformed_output_does_not_parse():
    assert parse_answer("") is None
    assert parse_answer('<tool_call>{"name": "set_power", "arguments": {</tool_call>') is None
    assert parse_answer('<tool_call>{"name": "set_power", "arguments": {}}') is None  # unterminated
    assert parse_answer('<tool_call>{"arguments": {}}</tool_call>') is None  # no name
    assert parse_answer('<tool_call>{"name": "x", "arguments": [1]}</tool_call>') is None


def test_string_encoded_arguments_are_accepted():
    text = '<tool_call>{"name": "set_timer", "arguments": "{\\"minutes\\": 3}"}</tool_call>'
    assert parse_answer(text) == [{"name": "set_timer", "arguments": {"minutes": 3}}]
