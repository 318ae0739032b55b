"""Diagnostics render like rustc (text) and as dicts (JSON), in source order."""

from __future__ import annotations

import json

from flowc.compiler import parse
from flowc.compiler.diagnostics import render_json, render_text
from flowc.errors import Diagnostic, Span

SOURCE = "flow demo\nacton a = f\naction b = g reads\n"


def test_text_shows_location_code_caret_and_hint_in_source_order():
    _, diagnostics = parse(SOURCE, "demo.flow")
    text = render_text(list(reversed(diagnostics)), SOURCE)
    assert text == (
        "demo.flow:2:1: error[F105]: unknown word `acton`\n"
        " 2 | acton a = f\n"
        "   | ^^^^^\n"
        "   = hint: did you mean `action`?\n"
        "demo.flow:3:19: error[F123]: expected a state key, found the end of the line\n"
        " 3 | action b = g reads\n"
        "   |                   ^\n"
        "   = hint: list keys separated by commas: `reads prompt, history`\n"
        "2 errors"
    )


def test_text_caps_the_number_shown():
    many = [Diagnostic("F100", f"m{i}", Span("f", i + 1, 1)) for i in range(5)]
    text = render_text(many, None, max_shown=2)
    assert "… and 3 more" in text
    assert text.endswith("5 errors")


def test_json_is_a_list_of_diagnostic_dicts():
    _, diagnostics = parse(SOURCE, "demo.flow")
    data = json.loads(render_json(diagnostics))
    assert [(d["code"], d["line"], d["col"]) for d in data] == [("F105", 2, 1), ("F123", 3, 19)]
    assert data[0]["hints"] == ["did you mean `action`?"]
    assert data[0]["file"] == "demo.flow" and data[0]["severity"] == "error"
