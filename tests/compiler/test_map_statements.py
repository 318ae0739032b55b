"""Map blocks built straight from a header match and one match per body line give exactly the
node the token path gives (spans included), and anything less plain is left to the token path."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowc.compiler.fast_path import parse_clean, tables
from flowc.compiler.line_statements import Line
from flowc.compiler.map_statements import map_statement
from flowc.compiler.parse import AstBuilder, parse, parse_full


def same_as_full_path(text: str) -> None:
    """``repr`` shows spans, comments and diagnostics, which AST equality leaves out."""
    assert repr(parse(text, "t.flow")) == repr(parse_full(text, "t.flow"))


def taken(text: str) -> bool:
    """Whether the block at the start of ``text`` is built here rather than by the token path."""
    builder = AstBuilder("t.flow")
    return map_statement(text, 0, Line("t.flow", 1, 0), tables().words, builder) is not None


def block(*body: str, header: str = "map m = [a, b(n=2) as c] for item in items {") -> str:
    return "\n".join([header, *body, "}"]) + "\n"


@pytest.mark.parametrize(
    "text",
    [
        block("  max_concurrency 8", "  retry 2 backoff 0.5s", "  reduce out = collect(k1)"),
        "map m = [a, b]\n",
        "map m = f as g for x in input xs\n",
        "map m = pkg.mod:f(x=-1.5, s='t',) for x in xs {\n}\n",
        block(header="map m = f for x in xs {"),
        block("", "  timeout 30s", "", "  tolerate 10%", "  first 2", "  tracker none"),
        block("  persister cascade", "  key prompt", "  tolerate 3", "  retry 0 jitter 1h"),
        block("  retry 3 backoff 250ms jitter 5%", "  key pkg.mod:f", "  tolerate 2.5%"),
        block(
            "  reduce a = records(o=x.y, p)", "  reduce a, b = pkg:red(x)", "  reduce c = count()"
        ),
        block("  reduce s = mine", "  reduce t = to_dict(k, v)", "  max_concurrency 08") + "  \n",
        block("  retry 1") + "start -> m\n",
        block("  retry 1").rstrip("\n"),  # no final newline
        "map m = [a] {\n  first 1\n}   \n",
    ],
)
def test_plain_map_blocks_are_built_without_tokens(text: str):
    assert taken(text)
    same_as_full_path(text)


@pytest.mark.parametrize(
    "text",
    [
        "map m = f\n",  # one branch without `for`: an error
        block("  retry 2", "  retry 3"),  # an option set twice
        block("  max_concurrency 0"),
        block("  max_concurrency 8s"),  # a unit where none belongs
        block("  max_concurrency 2.5"),
        block("  tolerate 101%"),
        block("  retry 2 jitter 150%"),
        block("  timeout 30"),  # no unit where one belongs
        block("  timeout 30x"),
        block("  timeout 1e3s"),
        block("  max_concurrency 1_0"),
        block("  max_concurrency +3"),
        block("  retyr 2"),  # a misspelled option
        block("  retry 2 # comment"),
        block("  # comment", "  retry 2"),
        block("  retry 2 }"),
        block("  executor threads 4"),
        block("  key a.b"),  # a dotted name without a module colon
        block("  tracker nope"),
        block("  reduce out = collect(k1, k2)"),  # a built-in with the wrong arguments
        block("  reduce out = collect"),
        block("  reduce a, b = collect(k)"),
        block("  reduce a = sum(n=k)"),
        block("  reduce a = mine(1)"),  # a literal argument
        block("  reduce out = first(k)"),  # a keyword as a name
        block("  reduce out = collect(k é)"),
        block("  reads k"),  # a continuation line
        "map m = [f]\n  for x in xs {\n}\n",
        "map m = [f] for x in xs\n{\n}\n",
        "map m = [f] for x in xs {\n}\n  reads k\n",
        "map m = [f] for x in range(3) {\n}\n",
        "map m = [f] for x in [1, 2] {\n}\n",
        "map m = [fé] for x in xs {\n}\n",  # non-ASCII
        "map m = [f] for x in xs {\n  retry 2\n",  # never closed
        "map m = [f] for x in xs { retry 2\n}\n",
        "map m = [f] for x in xs {}\n",
        "map map = [f]\n",
        "map m = [f as retry]\n",
        "map m = [f.g]\n",
        "map m = [f] for input in xs\n",
        "map m = [f]  # comment\n",
    ],
)
def test_less_plain_map_blocks_are_left_to_the_token_path(text: str):
    assert not taken(text)
    same_as_full_path(text)


def test_map_blocks_inside_graphs_and_in_runs_parse_the_same_on_both_paths():
    inner = block("    retry 1", header="  map n = [a] for x in xs {").replace("}", "  }")
    text = "graph g {\n" + inner + "  n -> end\n}\n"
    runs = "".join(block(f"  retry {i}", header=f"map m{i} = [a{i}] {{") for i in range(6))
    for source in (text, runs, runs + "# after\n" + runs.replace("map m", "map k")):
        assert parse_clean(source, AstBuilder("t.flow")) is not None
        same_as_full_path(source)


# Mostly plain pieces, so that many generated blocks take the map path; the rest do not.
NAMES = st.sampled_from(["a", "k1", "x_y", "b", "c2", "a", "k1", "x_y", "retry", "in", "é"])
SPACE = st.sampled_from(["", " ", "  ", "\t"])
NUMBERS = st.sampled_from(["1", "8", "07", "2.5", "100", "3", "12", "0", "101", "1_0", "-1"])
COUNT_UNITS = st.sampled_from(["", "", "", "", "%", "s"])
TIME_UNITS = st.sampled_from(["s", "ms", "m", "h", "s", "ms", "", "%", "x"])
OPTIONS = ["max_concurrency", "retry", "timeout", "tolerate", "first", "tracker", "persister"]


@st.composite
def body_lines(draw: st.DrawFn) -> str:
    word = draw(
        st.sampled_from([*OPTIONS, *OPTIONS, "key", "reduce", "reduce", "", "# c", "reads"])
    )
    if word in ("tracker", "persister"):
        return f"  {word} {draw(st.sampled_from(['cascade', 'none', 'x']))}"
    if word == "key":
        return f"  key {draw(NAMES)}{draw(st.sampled_from(['', ':f', '.g']))}"
    if word == "reduce":
        targets = ", ".join(draw(st.lists(NAMES, min_size=1, max_size=2)))
        reducer = draw(st.sampled_from(["collect", "records", "count", "to_dict", "mine"]))
        arguments = draw(st.lists(st.sampled_from(["k", "k.v", "o=k", "k", "1"]), max_size=2))
        parens = f"({', '.join(arguments)})" if draw(st.booleans()) or arguments else ""
        return f"  reduce {targets}{draw(SPACE)}={draw(SPACE)}{reducer}{parens}"
    if word in OPTIONS:
        units = TIME_UNITS if word == "timeout" else COUNT_UNITS
        line = f"  {word} {draw(NUMBERS)}{draw(units)}"
        if word == "retry" and draw(st.booleans()):
            line += f" backoff {draw(NUMBERS)}{draw(TIME_UNITS)}"
        if word == "retry" and draw(st.booleans()):
            line += f" jitter {draw(NUMBERS)}{draw(TIME_UNITS)}"
        return line
    return f"  {word}"


@st.composite
def map_blocks(draw: st.DrawFn) -> str:
    branches = [
        draw(NAMES) + draw(st.sampled_from(["", "(n=1)", " as b", "(s='x') as c"]))
        for _ in range(draw(st.integers(1, 3)))
    ]
    shape = f"[{', '.join(branches)}]" if draw(st.booleans()) else branches[0]
    header = f"map {draw(NAMES)}{draw(SPACE)}={draw(SPACE)}{shape}"
    if draw(st.booleans()):
        header += f" for {draw(NAMES)} in {draw(st.sampled_from(['', 'input ']))}{draw(NAMES)}"
    if not draw(st.booleans()):
        return header
    lines = draw(st.lists(body_lines(), max_size=4))
    return "\n".join([header + draw(st.sampled_from([" {", "{", "\n{"])), *lines, "}"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(map_blocks(), min_size=1, max_size=3),
    st.sampled_from(["\n", "\n\n", "\n  ", "\n# c\n"]),
)
def test_generated_map_blocks_parse_the_same_on_both_paths(blocks: list[str], separator: str):
    same_as_full_path(separator.join(blocks) + "\n")
