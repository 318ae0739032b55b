"""One-line actions and transitions built straight from a regex match give exactly the node the
token path gives (spans included), and anything less plain is left to the token path."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowc.compiler.fast_path import tables
from flowc.compiler.line_statements import Line, line_statement
from flowc.compiler.parse import AstBuilder, parse, parse_full


def same_as_full_path(text: str) -> None:
    """``repr`` shows spans, comments and diagnostics, which AST equality leaves out."""
    assert repr(parse(text, "t.flow")) == repr(parse_full(text, "t.flow"))


def taken(line: str) -> bool:
    """Whether the line is built here rather than by the token path."""
    builder = AstBuilder("t.flow")
    return line_statement(line, 0, Line("t.flow", 1, 0), tables().words, builder) is not None


@pytest.mark.parametrize(
    "line",
    [
        'action a12 = step(n=12, label="x12") reads k12 writes k13',
        "action a = pkg.mod:f(x=-1.5, y='s', z=None, w=true,) inputs q reads a, b",
        "action a = f()",
        "action a = f",
        "action a = f(x=1)",  # one or two arguments: captured by ACTION_LINE itself
        "action a = f( x = 'one' , y=2.5 , ) writes k",
        "action a = f(x=1, y=2, z=3) reads k",  # three: taken apart one by one
        "a -> b",
        "start -> a -> b -> end",
        'a -> b when round < 3 and k != "done"',
        "actions -> action_x -> end",
    ],
)
def test_plain_lines_are_built_without_tokens(line: str):
    assert taken(line)
    same_as_full_path(line + "\n")


@pytest.mark.parametrize(
    "line",
    [
        "action a = f(t=30s)",  # a unit
        'action a = f(s="a\\nb")',  # an escape
        "action a = f(l=[1])",  # a list value
        "action a = f(x=1_000)",
        "action a = f(x=1e3)",
        "action a = f(x=other)",  # a name is not a value
        "action a = f(reads=1)",  # a keyword as an argument's name
        "action a = f(x=1, when=2)",
        "action a = f(x=1, y=30s)",
        "action reads = f",  # a keyword as a name
        "action a = map",
        "action a = f reads state",
        "action a = f reads x reads y",  # a repeated clause
        "action é = f",  # non-ASCII
        "action a = f.g",  # a dotted name without a module colon
        "action a = f  # comment",
        "a -> b  # comment",
        "a -> start",
        "end -> a",
        "a -> end -> b",
        "a -> b -> c when x",
        "a -> b when",
        'a -> b when x == "unterminated',
        "a -> b when x == 1 }",
        "a->b when(x)",
    ],
)
def test_less_plain_lines_are_left_to_the_token_path(line: str):
    assert not taken(line)
    same_as_full_path(line + "\n")


@pytest.mark.parametrize(
    "text",
    [
        "action a = f\n  reads k\n",  # a clause on the next line
        "a -> b\n  when x\n",
        "action a = f\n{\n",
        "action a = f\n\n# c\n  writes k\n",
        "graph g {\n  action a = f reads k\n  a -> end\n}\n",
        "action a = f reads k",  # no final newline
        "a -> b when x > 1   \n",  # trailing spaces belong to the condition's token
        "a -> b when x >\n",  # a broken condition is reported the same way
        "flow f\naction a = f(x=1)\naction a = g\na -> a\n",
    ],
)
def test_statements_around_plain_lines_parse_the_same_on_both_paths(text: str):
    same_as_full_path(text)


NAMES = st.sampled_from(["a", "b", "k1", "x_y", "reads", "start", "end", "map", "é", "when"])
PLAIN_VALUES = ["1", "-2", "+3", "0.5", "-0.0", "007", '"s"', "'t'", '""', "True", "none"]
OTHER_VALUES = ["null", "30s", "1_0", "1e2", "[1]", '"a\\"b"', "x"]  # the token path's
VALUES = st.sampled_from([*PLAIN_VALUES, *OTHER_VALUES])
SPACE = st.sampled_from(["", " ", "  ", "\t"])


@st.composite
def action_lines(draw: st.DrawFn) -> str:
    s = draw(SPACE)
    line = f"action {draw(NAMES)}{s}={draw(SPACE)}{draw(NAMES)}"
    if draw(st.booleans()):
        line = f"action {draw(NAMES)} = pkg.{draw(NAMES)}:{draw(NAMES)}"
    if draw(st.booleans()):
        arguments = draw(st.lists(st.tuples(NAMES, VALUES), max_size=3))
        joined = f",{draw(SPACE)}".join(f"{k}{draw(SPACE)}={draw(SPACE)}{v}" for k, v in arguments)
        line += f"{draw(SPACE)}({joined}{draw(st.sampled_from(['', ',']))})"
    for _ in range(draw(st.integers(0, 3))):
        clause = draw(st.sampled_from(["reads", "writes", "inputs"]))
        line += f" {clause} " + ", ".join(draw(st.lists(NAMES, min_size=1, max_size=3)))
    return line + draw(st.sampled_from(["", " ", "  # c"]))


@st.composite
def transition_lines(draw: st.DrawFn) -> str:
    path = draw(st.lists(NAMES, min_size=2, max_size=4))
    line = f"{draw(SPACE)}->{draw(SPACE)}".join(path)
    if draw(st.booleans()):
        condition = draw(st.sampled_from(["x < 3", 'k != "done"', "not x", "a and", "y == '}'"]))
        line += f" when {condition}"
    return line + draw(st.sampled_from(["", " ", "  # c"]))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.one_of(action_lines(), transition_lines()), min_size=1, max_size=5),
    st.sampled_from(["\n", "\n\n", "\n  ", "\n# c\n"]),
)
def test_generated_lines_parse_the_same_on_both_paths(lines: list[str], separator: str):
    same_as_full_path(separator.join(lines) + "\n")


@pytest.mark.parametrize(
    "line",
    ["action aé = f", "action a = fé", "action a = f reads kä", "action a = f(é=1)", "a -> bé"],
)
def test_names_with_non_ascii_letters_anywhere_are_left_to_the_token_path(line: str):
    assert not taken(line)
    same_as_full_path(line + "\n")
