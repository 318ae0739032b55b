"""Syntax errors: each has a stable code, a plain-words message, the right position and a hint;
several mistakes are all reported; no input ever escapes as an exception."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowc.compiler import parse
from flowc.compiler.syntax_errors import CATALOGUE, MAX_ERRORS
from flowc.errors import Diagnostic

EXAMPLE = (Path(__file__).parents[2] / "examples" / "lang" / "every_construct.flow").read_text()


def errors(text: str) -> list[Diagnostic]:
    module, diagnostics = parse(text, "t.flow")
    assert module is None, "expected errors"
    return diagnostics


def where(diagnostic: Diagnostic) -> tuple[str, int, int]:
    assert diagnostic.span is not None
    return diagnostic.code, diagnostic.span.line, diagnostic.span.col


@pytest.mark.parametrize(
    ("label", "snippet"),
    [(label, snippet) for label in CATALOGUE for snippet in label.examples],
    ids=lambda value: getattr(value, "code", None) or repr(value),
)
def test_every_catalogue_snippet_gets_its_own_code(label, snippet):
    first = errors(snippet)[0]
    assert first.code == label.code, (snippet, first)
    assert first.message.startswith(label.message)
    assert first.hints == (label.hint,)
    lines = snippet.splitlines()
    assert first.span is not None and first.span.line <= len(lines)
    assert 1 <= first.span.col <= len(lines[first.span.line - 1]) + 1


def test_catalogue_codes_are_unique_and_in_the_syntax_range():
    codes = [label.code for label in CATALOGUE]
    assert len(codes) == len(set(codes))
    assert all("F120" <= code <= "F199" for code in codes)


@pytest.mark.parametrize(
    ("text", "code", "line", "col", "message", "hint"),
    [
        ("a -> b ~ c\n", "F102", 1, 8, "unexpected character `~`", None),
        ("a -> b;\n", "F102", 1, 7, "unexpected character `;`", "no `;` is needed"),
        ('action a = f(x="abc)\n', "F103", 1, 16, "this string is not closed", 'end it with "'),
        (
            "graph g {\n  a -> b\n",
            "F104",
            1,
            9,
            "unexpected end of file: `graph g` opened here is never closed",
            "close it with `}`",
        ),
        ("map m = [a,\n", "F104", 1, 9, "`[` opened here is never closed", "close it with `]`"),
        ("acton a = f\n", "F105", 1, 1, "unknown word `acton`", "did you mean `action`?"),
        (
            "map m = [a] {\n  reduse x = collect(y)\n}\n",
            "F105",
            2,
            3,
            "unknown word `reduse`",
            "did you mean `reduce`?",
        ),
        ("action a = f raeds x\n", "F105", 1, 14, "unknown word `raeds`", "did you mean `reads`?"),
        (
            "map m = [a] { timeout 30 }\n",
            "F106",
            1,
            23,
            "timeout must be a duration; `30` has no unit",
            "250ms, 0.5s, 30s, 2m or 1h",
        ),
        ("map m = [a] { first 0 }\n", "F106", 1, 21, "at least 1", None),
        ("map m = [a] { tolerate 150% }\n", "F106", 1, 24, "between 0% and 100%", None),
        ("state { a: int = 5s }\n", "F106", 1, 18, "`5s` has a unit", "write 5"),
        ("action end = f\n", "F107", 1, 8, "`end` is a keyword", "choose another name"),
        ("a -> b -> c when x\n", "F108", 1, 18, "a condition cannot follow a chain", None),
        ("map m = a\n", "F108", 1, 1, "runs one branch but has no `for … in …`", None),
        ("a -> start\n", "F108", 1, 6, "`start` can only be the first", None),
        ("end -> a\n", "F108", 1, 1, "`end` can only be the last", None),
        ("action a = f reads x reads y\n", "F108", 1, 22, "a second `reads` clause", None),
        ("map m = [a] { retry 1\n retry 2 }\n", "F108", 2, 2, "sets `retry` twice", None),
        ("map m = [a] { reduce x = collect() }\n", "F108", 1, 26, "takes one field name", None),
        ("map m = [a] { reduce x, y = sum(z) }\n", "F108", 1, 15, "writes one key, not 2", None),
        ("action a = x.y\n", "F108", 1, 12, "dotted name", "write `x:y`"),
    ],
)
def test_error_code_message_position_and_hint(text, code, line, col, message, hint):
    first = errors(text)[0]
    assert where(first) == (code, line, col)
    assert message in first.message
    if hint is not None:
        assert any(hint in h for h in first.hints), first.hints


def test_condition_errors_come_from_the_expression_language_at_file_positions():
    first = errors("a -> b when x <  # comment\n")[0]
    assert first.code.startswith("F11")  # F11x belongs to the condition language
    assert (first.span.line, first.span.col) == (1, 16)


def test_not_text_input_is_one_clear_error():
    first = errors("action a = f\x00\x01\n")[0]
    assert where(first) == ("F101", 1, 13)
    assert "binary" in first.message


def test_expected_tokens_are_put_into_words():
    first = errors("from a import b c\n")[0]
    assert where(first) == ("F100", 1, 17)
    assert "found the name `c`" in first.message or "the name `c`" in first.message
    assert "_NL" not in first.message and "__ANON" not in first.message


def test_three_separate_mistakes_give_exactly_three_diagnostics_on_their_lines():
    text = """flow demo
action ask = query_llm reads prompt writes
action ok = f reads a writes b
acton b = f
ok -> ask
map m = [ask, ok] {
  reduse x = collect(y)
}
ask -> end
"""
    found = [where(d)[:2] for d in errors(text)]
    assert found == [("F123", 2), ("F105", 4), ("F105", 7)]


def test_a_broken_condition_is_reported_with_the_syntax_errors():
    text = "action a = f reads\na -> b when x <\nb -> c\nacton d = f\n"
    found = [where(d)[:2] for d in errors(text)]
    assert [line for _, line in found] == [1, 2, 4]
    assert found[0][0] == "F123" and found[1][0].startswith("F11") and found[2][0] == "F105"


def test_errors_inside_blocks_do_not_hide_later_ones():
    text = "graph g {\n  action = f\n  a -> b\n}\nmap m = [a] {\n  timeout\n}\nx -> \n"
    assert [where(d)[:2] for d in errors(text)] == [("F120", 2), ("F146", 6), ("F128", 8)]


def test_one_mistake_gives_one_diagnostic():
    assert len(errors("action a = f reads x y z 3 4\n")) == 1
    assert len(errors("map m = [a b c] for\n")) == 1


def test_reporting_stops_after_max_errors():
    diagnostics = errors("a b\n" * (MAX_ERRORS + 10))
    assert len(diagnostics) == MAX_ERRORS + 1
    assert diagnostics[-1].code == "F109"


def test_value_problems_are_all_reported_when_the_syntax_is_right():
    text = "map m = [a] {\n  timeout 3\n  first 0\n}\naction end = f\n"
    assert [where(d)[:2] for d in errors(text)] == [("F106", 2), ("F106", 3), ("F107", 5)]


KEYWORDS = (
    "action graph map state flow from import reads writes inputs for in input range when start "
    "end reduce retry timeout max_concurrency tolerate first key tracker persister cascade none"
)
SYMBOLS = "-> = , : ( ) [ ] { } # \" ' 3 30s 10% a b c x.y m:f True"
GRAMMAR_WORDS = st.sampled_from([*KEYWORDS.split(), *SYMBOLS.split(" "), "\n", "\n\n"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(GRAMMAR_WORDS, max_size=40).map(" ".join))
def test_random_token_soup_yields_an_ast_or_diagnostics(text: str):
    check_never_raises(text)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=200))
def test_random_text_yields_an_ast_or_diagnostics(text: str):
    check_never_raises(text)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(0, len(EXAMPLE)),
    st.integers(0, 40),
    st.text(alphabet=st.sampled_from(list("{}[]()=,:->\n\"'#x3 ")), max_size=4),
)
def test_mutated_example_yields_an_ast_or_diagnostics(start: int, length: int, insert: str):
    check_never_raises(EXAMPLE[:start] + insert + EXAMPLE[start + length :])


def check_never_raises(text: str) -> None:
    module, diagnostics = parse(text, "fuzz.flow")
    assert (module is None) == bool(diagnostics)
    for item in diagnostics:
        assert isinstance(item, Diagnostic)
        assert item.code.startswith("F1")
        assert item.message and "Token(" not in item.message and "Tree(" not in item.message
