"""The fast path (one regex pass on Lark's LALR tables) gives exactly what the full path gives:
the same AST with the same spans and comments, the same diagnostics, or it steps aside."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowc.compiler.fast_path import parse_clean
from flowc.compiler.parse import AstBuilder, parse, parse_full, prepare_source

ROOT = Path(__file__).parents[2]
SOURCES = sorted([*(ROOT / "examples").rglob("*.flow"), *(ROOT / "tests").rglob("*.flow")])
EXAMPLE = (ROOT / "examples" / "lang" / "every_construct.flow").read_text()


def same_as_full_path(text: str) -> None:
    """``repr`` shows spans and comments, which AST equality leaves out."""
    assert repr(parse(text, "t.flow")) == repr(parse_full(text, "t.flow"))


def fast(text: str) -> object:
    return parse_clean(prepare_source(text, "t.flow")[0], AstBuilder("t.flow"))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_example_and_fixture_parses_the_same_on_both_paths(path: Path):
    same_as_full_path(path.read_text())


@pytest.mark.parametrize("path", sorted(ROOT.joinpath("examples").rglob("*.flow")), ids=str)
def test_every_example_takes_the_fast_path(path: Path):
    assert fast(path.read_text()) is not None


@pytest.mark.parametrize(
    "text",
    [
        "action a = f reads when, inputs, for writes reads\n",  # keywords as key names
        "map m = [a] {\n  tracker none\n  persister cascade\n}\n",
        "action cascade = f\naction none = f\n",
        "action a = f readsx\n",  # the contextual lexer splits `reads` + `x`
        "action a = f.5\n",
        'state { d: dict = {"a": {"b": 1}}, l: list = [\n  1,\n  2,\n] }\n',
        "a -> b when x == \"#}\" and y != '{'  # note\n",
        "a -> b when\n",
        "a -> b when # nothing\n",
        "a -> b when x\n  when y\n",
        "action a = f(\n  x = 1,\n\n  # comment\n  y = 2\n)\n  reads k\n\n  writes j\n",
        "action a = f(x = 1\naction b = g\n",  # a statement closes a bracket left open
        "graph g {\n  action a = f\n  a -> end\n}\nstart -> g\n",
        "action a = f reads k\n\twrites j\n",
        "x -> y -> z when a\n",
        "action action = f\n",
        "",
        "\n\n# only a comment",
    ],
)
def test_tricky_inputs_parse_the_same_on_both_paths(text: str):
    same_as_full_path(text)


KEYWORDS = (
    "action graph map state flow from import reads writes inputs for in input range when start "
    "end reduce retry timeout max_concurrency tolerate first key tracker persister cascade none"
)
SYMBOLS = "-> = , : ( ) [ ] { } # \" ' 3 30s 10% .5 a b x.y m:f True"
PIECES = [*KEYWORDS.split(), *SYMBOLS.split(" ")]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(0, len(EXAMPLE)),
    st.integers(0, 12),
    st.lists(st.sampled_from([*PIECES, " ", "\n", "\n\n", "  # c\n"]), max_size=3).map(" ".join),
)
def test_mutated_example_parses_the_same_on_both_paths(start: int, length: int, insert: str):
    same_as_full_path(EXAMPLE[:start] + insert + EXAMPLE[start + length :])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from([*PIECES, "\n"]), max_size=30).map(" ".join))
def test_token_soup_parses_the_same_on_both_paths(text: str):
    same_as_full_path(text)


def repeated(lines: list[str], times: int) -> str:
    return "".join(line.format(i=i, j=i + 1) + "\n" for i in range(times) for line in lines)


@pytest.mark.parametrize(
    "text",
    [
        repeated(["action a{i} = f(n={i}) reads k{i} writes k{j}"], 8),
        repeated(["a{i} -> a{j}"], 8),
        repeated(["a{i} -> a{j} when x < {i}", "action b{i} = g"], 6),  # alternating kinds
        "start -> a0\n" + repeated(["a{i} -> a{j}"], 5) + "a5 -> end\n",
        "graph g {\n"
        + repeated(["  action a{i} = f reads k{i}"], 6)
        + "  a5 -> end\n}\n"
        + repeated(["action b{i} = f"], 6)
        + "graph h {\n"
        + repeated(["  b{i} -> b{j}"], 6)
        + "}\n",
        repeated(["action a{i} = f"], 4) + "# a comment\n" + repeated(["action b{i} = f"], 4),
        repeated(["action a{i} = f"], 4)
        + "map m = [a0] for x in xs {\n  retry 2\n}\n"
        + repeated(["action b{i} = f"], 4),
        repeated(["action a{i} = f"], 4) + "action c = f\n  reads k\n" + repeated(["a{i} -> b"], 4),
        repeated(["action a{i} = f"], 4) + "action reads = f\n" + repeated(["action b{i} = f"], 3),
        repeated(["action a{i} = f"], 5).rstrip("\n"),  # the last line has no newline
    ],
)
def test_runs_of_repeated_plain_lines_parse_the_same_on_both_paths(text: str):
    """After a plain line that only appended its node to the statement list, the next line of
    the same kind in the same parser states appends directly (``plain_lines``' repeats)."""
    assert fast(text) is not None
    same_as_full_path(text)


@pytest.mark.parametrize(
    "text",
    [
        repeated(["action a{i} = f"], 3) + "start -> a0\n" + repeated(["a{i} -> a{j}"], 3),
        repeated(["action a{i} = f"], 3) + "actions -> b\naction_x -> b\naction c = f\n",
        repeated(["a{i} -> a{j}"], 3) + "start -> a0\na0 -> end\n",
        repeated(["a{i} -> a{j}"], 3) + "graph g {\n  action x = f\n}\n",
        repeated(["action a{i} = f"], 3) + "state { k: int = 0 }\n",
        repeated(["action a{i} = f"], 3) + "map -> b\n",  # a keyword as a source: an error
        repeated(["action a{i} = f"], 3) + "reduce -> b\n",
        repeated(["a{i} -> a{j} when k == {i}"], 3) + "end -> a0\n",
    ],
)
def test_the_line_after_a_plain_line_starts_with_the_word_the_scanner_sees(text: str):
    """``plain_lines`` offers the next line to ``line_statement`` before matching its first
    word, and takes that word from the statement it built (``action`` or the source)."""
    same_as_full_path(text)
