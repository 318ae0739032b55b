"""Conditions of the simple shape, built from one regex, equal what the token parser builds:
the same nodes, the same spans; anything else is left to the parser."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowc.errors import Span
from flowc.runtime.expression import ExpressionSyntaxError, walk
from flowc.runtime.expression.lexer import Locator, tokenize
from flowc.runtime.expression.parser import _Parser
from flowc.runtime.expression.simple import parse_simple

ORIGIN = Span("t.flow", 7, 12)


def by_parser(text: str):
    locator = Locator(text, ORIGIN)
    return _Parser(tokenize(text, locator), locator).parse()


def shape(tree) -> list[tuple[str, Span]]:
    return [(type(node).__name__, node.span) for node in walk(tree)]


def assert_same_as_parser(text: str) -> None:
    simple = parse_simple(text, Locator(text, ORIGIN))
    try:
        expected = by_parser(text)
    except ExpressionSyntaxError:
        assert simple is None
        return
    if simple is not None:
        assert simple == expected
        assert shape(simple) == shape(expected)
        assert simple.reads == expected.reads  # set while building, not walked: same keys


@pytest.mark.parametrize(
    "text",
    [
        "round < 3",
        "done",
        "not done",
        "True",
        'k != "done"',
        "score >= 0.8 and attempts < 3",
        "a or b or c == -2",
        "None == x",
        "x == ''",
        "  padded < 1  ",
        "x < y or y < x or not x",  # names on both sides, repeated: each read once, in order
    ],
)
def test_simple_conditions_are_built_from_one_match(text: str):
    assert parse_simple(text, Locator(text, ORIGIN)) is not None
    assert_same_as_parser(text)


@pytest.mark.parametrize(
    "text",
    [
        "a and b or c",  # mixed connectives
        "a < 1 < 2",
        "len(xs) > 3",
        "x.y == 1",
        "x in xs",
        "not x < 3",
        "not True",
        "x == 007",
        "x == 1e3",
        "x == 'a\\nb'",
        "x == f'a'",
        "for < 1",
        "x and",
        "and",
        "not",
        "",
        "é < 1",
    ],
)
def test_other_conditions_are_left_to_the_parser(text: str):
    assert parse_simple(text, Locator(text, ORIGIN)) is None
    assert_same_as_parser(text)


SIMPLE_OPERANDS = ["x", "k1", "_y", "True", "none", "null", "0", "-1", "2.5", "-0.0", '"s"', "''"]
OTHER_OPERANDS = ["in", "not", "lambda", "007", "1.", ".5", "1_0", "x.y", '"a\\"b"']
OPERANDS = st.sampled_from([*SIMPLE_OPERANDS, *OTHER_OPERANDS])
OPERATORS = st.sampled_from(["==", "!=", "<", "<=", ">", ">=", "in", "=", "<>"])
SPACES = st.sampled_from(["", " ", "  ", "\t"])


@st.composite
def conditions(draw: st.DrawFn) -> str:
    items = []
    for _ in range(draw(st.integers(1, 4))):
        form = draw(st.integers(0, 2))
        if form == 0:
            items.append(draw(OPERANDS))
        elif form == 1:
            items.append(f"not {draw(OPERANDS)}")
        else:
            s = draw(SPACES)
            items.append(f"{draw(OPERANDS)}{s}{draw(OPERATORS)}{draw(SPACES)}{draw(OPERANDS)}")
    text = items[0]
    for item in items[1:]:
        text += f" {draw(st.sampled_from(['and', 'or', 'and', 'xor']))} {item}"
    return draw(SPACES) + text + draw(SPACES)


@settings(max_examples=400, deadline=None)
@given(conditions())
def test_generated_conditions_parse_the_same_either_way(text: str):
    assert_same_as_parser(text)


@settings(max_examples=200, deadline=None)
@given(conditions())
def test_generated_conditions_have_the_depths_the_parser_gives(text: str):
    """The ``checked_*`` constructors take each node's depth from ``parse_simple``."""
    simple = parse_simple(text, Locator(text, ORIGIN))
    if simple is not None:
        depths = [node._depth for node in walk(by_parser(text))]
        assert [node._depth for node in walk(simple)] == depths


STATE = {"round": 1, "done": False, "k": "y", "n": 0, "a": 0, "b": 0, "c": 3}


@pytest.mark.parametrize(
    "text", ["round < 3", "not done", 'k != "x" and n >= -2.5', "a or b or c", "None"]
)
def test_nodes_built_without_init_are_the_nodes_init_builds(text: str):
    simple = parse_simple(text, Locator(text, ORIGIN))
    expected = by_parser(text)
    assert repr(simple) == repr(expected) and hash(simple) == hash(expected)
    for mine, theirs in zip(walk(simple), walk(expected), strict=True):
        assert type(mine) is type(theirs)
        assert mine._depth == theirs._depth
        assert mine.reads == theirs.reads
        assert mine.evaluate(STATE) == theirs.evaluate(STATE)
        with pytest.raises(AttributeError):  # FrozenInstanceError is an AttributeError
            mine.span = ORIGIN
