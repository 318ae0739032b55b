"""The condition language, as a specification: what parses, what it evaluates to, what is
rejected (with which code, where, and which hint), and the properties that tie them together."""

from __future__ import annotations

import contextlib
import pickle
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pydantic
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowc import FlowRuntimeError, FlowSyntaxError
from flowc.errors import Span
from flowc.runtime.expression import (
    ALLOWED_FUNCTIONS,
    MAX_DEPTH,
    Attribute,
    Binary,
    BoolOp,
    Call,
    Compare,
    Conditional,
    Expression,
    ExpressionEvaluationError,
    ExpressionKeyError,
    ExpressionSyntaxError,
    Index,
    ListLiteral,
    Literal,
    Name,
    Unary,
    parse_expression,
    to_source,
    walk,
)

PACKAGE = Path(__file__).resolve().parents[2] / "flowc" / "runtime" / "expression"


class Model(pydantic.BaseModel):
    score: float
    tags: list[str]


@dataclass(frozen=True)
class Point:
    x: int
    y: int


STATE: dict[str, Any] = {
    "counter": 3,
    "done": False,
    "items": [1, 2, 3, 4],
    "name": "Ada",
    "empty": "",
    "nothing": None,
    "config": {"mode": "fast", "limits": {"max": 10}, "from": "keyword key"},
    "model": Model(score=0.75, tags=["a", "b"]),
    "point": Point(2, 5),
    "ratio": 0.5,
}


def evaluate(text: str, state: dict[str, Any] | None = None) -> Any:
    return parse_expression(text).evaluate(STATE if state is None else state)


def syntax_error(text: str, span: Span | None = None) -> ExpressionSyntaxError:
    with pytest.raises(ExpressionSyntaxError) as caught:
        parse_expression(text, span=span)
    return caught.value


# --- evaluation: every construct gives Python's answer ----------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("42", 42),
        ("3.5", 3.5),
        ("1e3", 1000.0),
        ("0.5", 0.5),
        (".5", 0.5),
        ("1_000", 1000),
        ("2.5e-1", 0.25),
        ("'single'", "single"),
        ('"double"', "double"),
        ('"tab\\tnew\\nback\\\\quote\\"apos\\\'"', "tab\tnew\nback\\quote\"apos'"),
        ('"\\u00e9\\U0001F600"', "é\U0001f600"),
        ("True", True),
        ("False", False),
        ("None", None),
        ("true", True),
        ("false", False),
        ("none", None),
        ("null", None),
        ("[1, 'a', None]", [1, "a", None]),
        ("[]", []),
        ("[counter, counter + 1,]", [3, 4]),
        ("counter", 3),
        ("config.mode", "fast"),
        ("config.limits.max", 10),
        ("config.from", "keyword key"),
        ('config["mode"]', "fast"),
        ("model.score", 0.75),
        ("model.tags[-1]", "b"),
        ("point.y - point.x", 3),
        ("items[0]", 1),
        ("items[-1]", 4),
        ("name[0]", "A"),
        ("-counter", -3),
        ("+counter", 3),
        ("--counter", 3),
        ("-(-2)", 2),
        ("not done", True),
        ("not not done", False),
        ("7 / 2", 3.5),
        ("7 // 2", 3),
        ("-7 // 2", -4),
        ("7 % 3", 1),
        ("-7 % 3", 2),
        ("2 * 3 + 1", 7),
        ("name + '!'", "Ada!"),
        ("items + [5]", [1, 2, 3, 4, 5]),
        ("'ab' * 2", "abab"),
        ("counter == 3", True),
        ("counter != 3", False),
        ("counter < 10", True),
        ("counter <= 3", True),
        ("counter > 3", False),
        ("counter >= 4", False),
        ("2 in items", True),
        ("9 not in items", True),
        ("'d' in name", True),
        ("'mode' in config", True),
        ("nothing is None", True),
        ("nothing is not None", False),
        ("counter in [1, 2, 3]", True),
        ("[counter] == [3]", True),
        ("'yes' if done else 'no'", "no"),
        ("len(items)", 4),
        ("abs(-2.5)", 2.5),
        ("min(items)", 1),
        ("max(items)", 4),
        ("min(4, counter, 9)", 3),
        ("max(1, 2)", 2),
        ("round(2.675, 2)", round(2.675, 2)),
        ("round(ratio)", 0),
        ("int('12')", 12),
        ("int(3.9)", 3),
        ("float('1.5')", 1.5),
        ("str(counter)", "3"),
        ("bool(empty)", False),
        ("sum(items)", 10),
        ("any([done, true])", True),
        ("all(items)", True),
        ("sorted([3, 1, 2])", [1, 2, 3]),
        ("lower(name)", "ada"),
        ("upper(name)", "ADA"),
        ("len(config.limits) == 1 and model.score > ratio", True),
    ],
)
def test_each_construct_evaluates_as_python_does(text: str, expected: Any) -> None:
    result = evaluate(text)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0 and 1", 0),
        ("1 and 'x'", "x"),
        ("'' or 'default'", "default"),
        ("'set' or 'default'", "set"),
        ("[] or [1]", [1]),
        ("None or 0", 0),
        ("1 and 2 and 3", 3),
        ("1 and 0 and 3", 0),
        ("0 or '' or None", None),
    ],
)
def test_and_or_return_an_operand_like_python(text: str, expected: Any) -> None:
    result = evaluate(text)
    assert result == expected and type(result) is type(expected)


@pytest.mark.parametrize(
    "text",
    [
        "false and missing",
        "done and missing",
        "true or missing",
        "counter or missing",
        "1 > 2 < missing",
        "'a' if true else missing",
        "missing if false else 'b'",
        "false and missing.attr[0] > len(other)",
    ],
)
def test_short_circuit_skips_the_unevaluated_operands(text: str) -> None:
    parse_expression(text).evaluate(STATE)  # no ExpressionKeyError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 < 2 < 3", True),
        ("1 < 3 < 2", False),
        ("3 > 2 > 1", True),
        ("1 < counter <= 3", True),
        ("1 == 1 != 2", True),
        ("1 < 2 > 0 in items", False),
        ("counter in items in [[1, 2, 3, 4]]", True),
    ],
)
def test_comparisons_chain_like_python(text: str, expected: bool) -> None:
    assert evaluate(text) is expected
    node = parse_expression(text)
    assert type(node) is Compare and len(node.ops) == len(node.comparators) >= 2


def test_chained_comparison_is_one_flat_node() -> None:
    assert parse_expression("a < b <= c") == Compare(Name("a"), ("<", "<="), (Name("b"), Name("c")))


# --- precedence -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "grouped"),
    [
        ("a or b and c", "a or (b and c)"),
        ("a and b or c", "(a and b) or c"),
        ("not a and b", "(not a) and b"),
        ("not a == b", "not (a == b)"),
        ("not a in b", "not (a in b)"),
        ("a == b and c != d", "(a == b) and (c != d)"),
        ("a < b + c", "a < (b + c)"),
        ("a + b * c", "a + (b * c)"),
        ("a * b + c", "(a * b) + c"),
        ("a - b - c", "(a - b) - c"),
        ("a / b / c", "(a / b) / c"),
        ("a // b % c", "(a // b) % c"),
        ("-a * b", "(-a) * b"),
        ("-a.b", "-(a.b)"),
        ("-a[0]", "-(a[0])"),
        ("a.b[c].d", "((a.b)[c]).d"),
        ("a if b else c if d else e", "a if b else (c if d else e)"),
        ("a or b if c else d", "(a or b) if c else d"),
        ("not a if b else c", "(not a) if b else c"),
    ],
)
def test_precedence_table(text: str, grouped: str) -> None:
    assert parse_expression(text) == parse_expression(grouped)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2 + 3 * 4", 14),
        ("(2 + 3) * 4", 20),
        ("10 - 4 - 3", 3),
        ("10 - (4 - 3)", 9),
        ("2 * -3", -6),
        ("-2 + 5", 3),
        ("1 + 2 == 3", True),
        ("not 1 == 2", True),
        ("true or false and false", True),
        ("(true or false) and false", False),
    ],
)
def test_precedence_gives_pythons_values(text: str, expected: Any) -> None:
    assert evaluate(text) == expected


def test_a_negative_number_literal_is_folded_but_negation_of_a_name_is_not() -> None:
    assert parse_expression("-1") == Literal(-1)
    assert parse_expression("- 2.5") == Literal(-2.5)
    assert parse_expression("-x") == Unary("-", Name("x"))
    assert parse_expression("-(1)") == Unary("-", Literal(1))


# --- reads --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "reads"),
    [
        ("counter < 10", ("counter",)),
        ("not done and len(items) > 3", ("done", "items")),
        ("b + a + b + c", ("b", "a", "c")),
        ("config.mode == model.score", ("config", "model")),
        ("items[index]", ("items", "index")),
        ("x if flag else y", ("x", "flag", "y")),
        ("[p, q, p]", ("p", "q")),
        ("len('text') + 1 == true", ()),
        ("max(a, b) in c", ("a", "b", "c")),
    ],
)
def test_reads_lists_top_level_keys_in_order_of_first_appearance(
    text: str, reads: tuple[str, ...]
) -> None:
    assert parse_expression(text).reads == reads


def test_reads_of_a_hand_built_tree() -> None:
    tree = BoolOp("or", (Name("z"), Attribute(Name("y"), "k"), Name("z")))
    assert tree.reads == ("z", "y")


# --- nodes ----------------------------------------------------------------------------------


def test_nodes_compare_structurally_and_ignore_spans() -> None:
    assert parse_expression("a + 1", span=Span("f.flow", 3, 7)) == parse_expression("a  +  1")
    assert Name("a", Span("x", 1, 1)) == Name("a")
    assert hash(parse_expression("a + 1 + 2")) == hash(
        Binary("+", Binary("+", Name("a"), Literal(1)), Literal(2))
    )


def test_literals_of_different_types_are_different_nodes() -> None:
    assert Literal(1) != Literal(True)
    assert Literal(1) != Literal(1.0)
    assert Literal(0) != Literal(False)
    assert Literal(None) == Literal(None)


def test_nodes_are_frozen_and_pickle() -> None:
    node = parse_expression("not done and len(items) > 3")
    with pytest.raises(AttributeError):
        node.op = "or"  # type: ignore[misc]
    copy = pickle.loads(pickle.dumps(node))
    assert copy == node
    assert copy.evaluate(STATE) is True


def test_walk_visits_every_node_in_source_order() -> None:
    node = parse_expression("a.b + len(e) if c else [d]")
    names = [n.id for n in walk(node) if isinstance(n, Name)]
    assert names == ["a", "e", "c", "d"]
    assert isinstance(node, Conditional) and isinstance(node.body, Binary)


def test_node_classes_share_the_expression_base() -> None:
    for kind in (Literal, Name, Attribute, Index, Call, Unary, Binary, Compare, BoolOp):
        assert issubclass(kind, Expression)
    assert issubclass(ListLiteral, Expression) and issubclass(Conditional, Expression)


@pytest.mark.parametrize(
    ("build", "code"),
    [
        (lambda: Call("open", (Literal("f"),)), "F116"),
        (lambda: Call("len", ()), "F117"),
        (lambda: Attribute(Name("x"), "__class__"), "F118"),
        (lambda: Name("not"), "F115"),
        (lambda: Literal([1]), "F115"),
        (lambda: Binary("**", Name("a"), Name("b")), "F115"),
        (lambda: Compare(Name("a"), ("<",), ()), "F115"),
        (lambda: BoolOp("and", (Name("a"),)), "F115"),
    ],
)
def test_hand_built_nodes_are_validated_like_parsed_ones(build: Any, code: str) -> None:
    with pytest.raises(ExpressionSyntaxError) as caught:
        build()
    assert caught.value.code == code


def test_parsing_without_a_span_is_cached_and_shared() -> None:
    assert parse_expression("cached_key < 1") is parse_expression("cached_key < 1")


def test_a_span_shifts_node_positions() -> None:
    node = parse_expression("a and b", span=Span("g.flow", 4, 10))
    assert isinstance(node, BoolOp)
    assert node.span == Span("g.flow", 4, 10, 4, 17)
    assert node.values[1].span == Span("g.flow", 4, 16, 4, 17)


# --- to_source ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("a+b*c", "a + b * c"),
        ("(a + b) * c", "(a + b) * c"),
        ("((a))", "a"),
        ("a - (b - c)", "a - (b - c)"),
        ("(a - b) - c", "a - b - c"),
        ("'it''s'".replace("''", "\\'"), '"it\'s"'),
        ("'q\"'", '"q\\""'),
        ("not(a)", "not a"),
        ("(not a) == b", "(not a) == b"),
        ("a < (b < c)", "a < (b < c)"),
        ("(a and b) and c", "(a and b) and c"),
        ("a and (b or c)", "a and (b or c)"),
        ("(a if b else c) if d else e", "(a if b else c) if d else e"),
        ("(-1).real", "(-1).real"),
        ("-(1)", "-(1)"),
        ("true", "True"),
        ("null", "None"),
        ("1e3", "1000.0"),
        ("[1,2 ,]", "[1, 2]"),
        ("len( x )", "len(x)"),
        ("x[ -1 ]", "x[-1]"),
    ],
)
def test_to_source_prints_canonical_text(text: str, canonical: str) -> None:
    node = parse_expression(text)
    assert to_source(node) == canonical
    assert parse_expression(canonical) == node


def test_repr_shows_the_class_and_the_source() -> None:
    assert repr(parse_expression("a + 1")) == "<Binary a + 1>"


# --- errors: syntax ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "code", "col", "message", "hint"),
    [
        ("a $ b", "F110", 3, "unexpected character '$'", "plain names"),
        ("a # comment", "F110", 3, "unexpected character '#'", "comments"),
        ("'open", "F111", 1, "unterminated string", "close it"),
        ("'a\\qb'", "F111", 3, "unknown escape '\\q'", "known escapes"),
        ("'\\u12'", "F111", 2, "expected 4 hex digits", ""),
        ("'''doc'''", "F111", 1, "triple-quoted", ""),
        ("0x1F", "F112", 1, "invalid number '0x1F'", "decimal"),
        ("007", "F112", 1, "leading zeros", "write 7"),
        ("1.2.3", "F112", 1, "invalid number", ""),
        ("3abc", "F112", 1, "invalid number '3abc'", ""),
        ("a b", "F113", 3, "unexpected name b", "operator missing"),
        ("x = 1", "F113", 3, "unexpected '='", "`=` is assignment; use `==`"),
        ("a && b", "F113", 3, "unexpected '&&'", "use `and`, not `&&`"),
        ("a || b", "F113", 3, "unexpected '||'", "use `or`, not `||`"),
        ("!a", "F113", 1, "unexpected '!'", "use `not`"),
        ("a; b", "F113", 2, "unexpected ';'", "single expression"),
        ("a not b", "F113", 3, "unexpected 'not'", "not in"),
        ("a == not b", "F113", 6, "`not` cannot be used here", "(not b)"),
        ("'a' 'b'", "F113", 5, "unexpected string", "join strings with `+`"),
        ("a if b", "F114", 7, "unexpected end of expression; expected `else`", ""),
        ("", "F114", 1, "unexpected end of expression", ""),
        ("a <", "F114", 4, "unexpected end of expression", ""),
        ("(a + b", "F114", 1, "'(' at 1:1 is never closed", "add ')'"),
        ("len(a", "F114", 4, "'(' at 1:4 is never closed", "add ')'"),
        ("[1, 2", "F114", 1, "'[' at 1:1 is never closed", "add ']'"),
        ("lambda: 1", "F115", 1, "unexpected 'lambda'", "lambdas are not supported"),
        ("[x for x in y]", "F115", 4, "unexpected 'for'", "comprehensions"),
        ("any(x for x in y)", "F115", 7, "unexpected 'for'", "comprehensions"),
        ("(x := 1)", "F115", 4, "unexpected ':='", "assignment expressions"),
        ('f"{x}"', "F115", 1, "string prefix 'f'", "plain string"),
        ("b'x'", "F115", 1, "string prefix 'b'", ""),
        ("a ** 2", "F115", 3, "unexpected '**'", "power"),
        ("a & b", "F115", 3, "unexpected '&'", "bitwise"),
        ("{'a': 1}", "F115", 1, "unexpected '{'", "dict and set"),
        ("(a, b)", "F115", 3, "unexpected ','", "tuples"),
        ("()", "F115", 1, "empty parentheses", ""),
        ("x[1:2]", "F115", 4, "slices are not supported", ""),
        ("round(x, ndigits=2)", "F115", 17, "keyword arguments", "by position"),
        ("import os", "F115", 1, "unexpected 'import'", "imports"),
        ("open('f')", "F116", 1, "unknown function 'open'", "allowed functions: abs"),
        ("lenn(items)", "F116", 1, "unknown function 'lenn'", "did you mean `len`?"),
        ("__import__('os')", "F116", 1, "unknown function '__import__'", "allowed functions"),
        ("eval('1')", "F116", 1, "unknown function 'eval'", "allowed functions"),
        ("x.lower()", "F117", 1, "`x.lower` cannot be called", "write `lower(x)`"),
        ("len(x)(1)", "F117", 1, "`len(x)` cannot be called", ""),
        ("(f)()", "F117", 1, "`f` cannot be called", ""),
        ("len(a, b)", "F117", 1, "len() takes 1 argument (2 given)", ""),
        ("round()", "F117", 1, "round() takes 1 or 2 arguments (0 given)", ""),
        ("max()", "F117", 1, "max() takes at least 1 argument (0 given)", ""),
        ("x.__class__", "F118", 3, "attribute '__class__' begins with '_'", "public name"),
        ("x._private", "F118", 3, "attribute '_private'", ""),
        ("x.y.__dict__", "F118", 5, "'__dict__'", ""),
    ],
)
def test_syntax_errors_name_the_problem_its_position_and_a_hint(
    text: str, code: str, col: int, message: str, hint: str
) -> None:
    error = syntax_error(text)
    assert error.code == code
    assert (error.span.line, error.span.col) == (1, col), error.span
    assert message in error.message
    assert any(hint in h for h in error.hints), error.hints
    assert isinstance(error, FlowSyntaxError) and isinstance(error, ValueError)


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os')",
        "x.__class__",
        "open('f')",
        "().__class__",
        "getattr(x, 'y')",
        "x.y()",
        "f()()",
        "exec('1')",
        "compile('1', 'f', 'eval')",
        "x.__globals__",
        "globals()",
        "[c for c in ().__class__.__bases__]",
        "breakpoint()",
    ],
)
def test_escapes_to_python_are_rejected_when_parsed(text: str) -> None:
    assert syntax_error(text).code.startswith("F11")


def test_the_unknown_function_hint_lists_every_allowed_function() -> None:
    hints = syntax_error("open('f')").hints
    assert hints[-1] == "allowed functions: " + ", ".join(ALLOWED_FUNCTIONS)


def test_error_positions_are_shifted_by_the_span() -> None:
    error = syntax_error("a && b", span=Span("etl.flow", 12, 20))
    assert error.span == Span("etl.flow", 12, 22, 12, 24)
    error = syntax_error("a and\n  b &&", span=Span("etl.flow", 12, 20))
    assert (error.span.file, error.span.line, error.span.col) == ("etl.flow", 13, 5)


def test_errors_without_a_span_render_a_caret_under_the_text() -> None:
    rendered = str(syntax_error("count = 3"))
    assert rendered.splitlines() == [
        "<expression>:1:7: error[F113]: unexpected '='; expected an operator or the end of the "
        "expression",
        " 1 | count = 3",
        "   |       ^",
        "   = hint: `=` is assignment; use `==` to compare",
    ]


def test_multiline_text_reports_line_and_column() -> None:
    error = syntax_error("a and\nb and\n   c $")
    assert (error.span.line, error.span.col) == (3, 6)


# --- errors: depth ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "(" * 10_000 + "a" + ")" * 10_000,
        "(" * 10_000,
        "[" * 10_000 + "]" * 10_000,
        "not " * 10_000 + "a",
        "-" * 10_000 + "a",
        "- " * 10_000 + "1",
        "a if b else " * 10_000 + "c",
        "len(" * 10_000 + "x" + ")" * 10_000,
        "a" + "[0]" * 10_000,
        "a" + ".b" * 10_000,
        "a + (" * 10_000 + "b" + ")" * 10_000,
        "(" * (MAX_DEPTH + 1) + "a" + ")" * (MAX_DEPTH + 1),
    ],
)
def test_deep_nesting_is_a_syntax_error_never_a_recursion_error(text: str) -> None:
    error = syntax_error(text)
    assert error.code == "F119"
    assert "nested too deeply" in error.message


def test_nesting_up_to_the_limit_is_fine() -> None:
    depth = MAX_DEPTH // 2
    node = parse_expression("(" * depth + "counter" + ")" * depth)
    assert node.evaluate(STATE) == 3
    assert parse_expression("not " * (MAX_DEPTH - 1) + "done").evaluate(STATE) is True


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (" + ".join(["a"] * 10_000), 10_000),
        (" - ".join(["a"] * 3_000), 2 - 3_000),
        (" * ".join(["a"] * 3_000), 1),
        (" + ".join(["a * a"] * 2_000), 2_000),
        (" and ".join(["a"] * 10_000), 1),
        (" or ".join(["a"] * 3_000), 1),
        (" <= ".join(["a"] * 3_000), True),
        ("[" + ", ".join(["a"] * 3_000) + "]", [1] * 3_000),
        ("max(" + ", ".join(["a"] * 3_000) + ")", 1),
    ],
)
def test_long_flat_inputs_parse_evaluate_and_round_trip(text: str, expected: Any) -> None:
    node = parse_expression(text)
    assert node.evaluate({"a": 1}) == expected
    assert node.reads == ("a",)
    assert parse_expression(to_source(node)) == node


# --- errors: evaluation ---------------------------------------------------------------------


def test_a_missing_key_names_the_key_and_suggests_a_close_one() -> None:
    node = parse_expression("countr < 10", span=Span("loop.flow", 7, 30))
    with pytest.raises(ExpressionKeyError) as caught:
        node.evaluate(STATE)
    error = caught.value
    assert error.key == "countr"
    assert error.code == "F510"
    assert error.message == "state has no key 'countr'"
    assert error.hints == ("did you mean 'counter'?",)
    assert error.span == Span("loop.flow", 7, 30, 7, 36)
    assert isinstance(error, KeyError) and isinstance(error, FlowRuntimeError)


@pytest.mark.parametrize(
    "text", ["missing", "missing + 1", "len(missing)", "not missing", "missing.x", "[missing]"]
)
def test_every_kind_of_read_raises_the_key_error(text: str) -> None:
    with pytest.raises(ExpressionKeyError) as caught:
        evaluate(text)
    assert caught.value.key == "missing"


@pytest.mark.parametrize(
    ("text", "code", "culprit", "col", "reason"),
    [
        ('"a" < 3', "F511", '"a" < 3', 1, "'<' not supported"),
        ("counter > 1 and name < 3", "F511", "name < 3", 17, "not supported"),
        ("len(5) > 1", "F511", "len(5)", 1, "has no len()"),
        ("lower(counter)", "F511", "lower(counter)", 1, "needs a string"),
        ("name % 2", "F511", "name % 2", 1, "formatting"),
        ("-name", "F511", "-name", 1, "bad operand"),
        ("items[9]", "F512", "items[9]", 1, "out of range"),
        ("config.nope", "F512", "config.nope", 1, "key 'nope' not found"),
        ('config["nope"]', "F512", 'config["nope"]', 1, "key 'nope' not found"),
        ("model.missing", "F512", "model.missing", 1, "no attribute 'missing'"),
        ("1 + counter / 0", "F513", "counter / 0", 5, "division by zero"),
        ("int(name)", "F513", "int(name)", 1, "invalid literal"),
        ("min([])", "F513", "min([])", 1, "empty"),
        ("'ab' * 100000000", "F513", '"ab" * 100000000', 1, "repetition"),
        ("1 + 2 + name + 3", "F511", "1 + 2 + name", 1, "unsupported operand"),
    ],
)
def test_evaluation_errors_point_at_the_failing_sub_expression(
    text: str, code: str, culprit: str, col: int, reason: str
) -> None:
    with pytest.raises(ExpressionEvaluationError) as caught:
        evaluate(text)
    error = caught.value
    assert error.code == code
    assert error.expression == culprit
    assert error.span.col == col
    assert f"cannot evaluate `{culprit}`" in error.message and reason in error.message
    assert isinstance(error, TypeError) and isinstance(error, FlowRuntimeError)
    assert error.__cause__ is not None


def test_errors_survive_pickling() -> None:
    with pytest.raises(ExpressionKeyError) as caught:
        evaluate("absent")
    copy = pickle.loads(pickle.dumps(caught.value))
    assert copy.key == "absent" and copy.code == "F510"


# --- properties ---------------------------------------------------------------------------

NAMES = st.sampled_from(["a", "b", "items", "count_2", "from_x", "é"])
LEAVES = st.one_of(
    NAMES.map(Name),
    st.integers(-(10**6), 10**6).map(Literal),
    st.floats(allow_nan=False).map(Literal),
    st.text(max_size=4).map(Literal),
    st.sampled_from([True, False, None]).map(Literal),
)


def _extend(children: st.SearchStrategy[Expression]) -> st.SearchStrategy[Expression]:
    small = st.lists(children, min_size=1, max_size=3).map(tuple)
    return st.one_of(
        st.builds(Attribute, children, st.sampled_from(["y", "not", "from", "value"])),
        st.builds(Index, children, children),
        st.builds(Call, st.sampled_from(["len", "abs", "lower", "str"]), st.tuples(children)),
        st.builds(Call, st.sampled_from(["min", "max"]), small),
        st.builds(Unary, st.sampled_from(["not", "-", "+"]), children),
        st.builds(Binary, st.sampled_from(["+", "-", "*", "/", "//", "%"]), children, children),
        st.lists(
            st.tuples(st.sampled_from(["==", "<", ">=", "in", "not in", "is", "is not"]), children),
            min_size=1,
            max_size=3,
        ).flatmap(
            lambda pairs: st.builds(
                Compare,
                children,
                st.just(tuple(p[0] for p in pairs)),
                st.just(tuple(p[1] for p in pairs)),
            )
        ),
        st.builds(
            BoolOp,
            st.sampled_from(["and", "or"]),
            st.lists(children, min_size=2, max_size=3).map(tuple),
        ),
        st.builds(ListLiteral, st.lists(children, max_size=3).map(tuple)),
        st.builds(Conditional, children, children, children),
    )


TREES = st.recursive(LEAVES, _extend, max_leaves=12)
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(TREES)
def test_generated_trees_round_trip_through_to_source(tree: Expression) -> None:
    assert parse_expression(to_source(tree)) == tree


@FAST
@given(TREES)
def test_evaluating_any_tree_raises_only_expression_errors(tree: Expression) -> None:
    state = {"a": 2, "b": "text", "items": [1, 2.5, "x"], "count_2": None, "from_x": {"y": 1}}
    with contextlib.suppress(ExpressionKeyError, ExpressionEvaluationError):
        tree.evaluate(state)


def _check_parse(text: str) -> None:
    try:
        node = parse_expression(text)
    except ExpressionSyntaxError:
        return
    assert isinstance(node, Expression)
    assert parse_expression(to_source(node)) == node


WORDS = ["and ", "or ", "not ", " in ", " is ", "if ", "else ", "len(", "max(", "True", "none"]
ALPHABET = st.sampled_from(
    [*"abxy019.,+-*/%<>=!()[]'\"\\_ \n", *WORDS, "__", "e5", "\\u00", "lambda", "for ", ":"]
)


@FAST
@given(st.text(max_size=40))
def test_random_text_yields_an_expression_or_a_syntax_error(text: str) -> None:
    _check_parse(text)


@FAST
@given(st.lists(ALPHABET, max_size=25).map("".join))
def test_random_token_soup_yields_an_expression_or_a_syntax_error(text: str) -> None:
    _check_parse(text)


VALID = [
    "counter < 10",
    "not done and len(items) > 3",
    "config.limits['max'] >= -1.5e3 or name in ['Ada', \"Bo\\n\"]",
    "x if a.b[0] else max(1, y) // 2 % 3",
    "a is not None and b not in c",
]


@FAST
@given(
    st.sampled_from(VALID),
    st.lists(
        st.tuples(st.sampled_from(["delete", "insert", "swap"]), st.integers(0, 80), ALPHABET),
        min_size=1,
        max_size=4,
    ),
)
def test_mutated_valid_expressions_yield_an_expression_or_a_syntax_error(
    text: str, edits: list[tuple[str, int, str]]
) -> None:
    for kind, position, piece in edits:
        position %= len(text) + 1
        if kind == "delete":
            text = text[:position] + text[position + 1 :]
        elif kind == "insert":
            text = text[:position] + piece + text[position:]
        else:
            text = text[:position] + piece + text[position + len(piece) :]
    _check_parse(text)


# --- what the module is made of -------------------------------------------------------------


def test_importing_the_expression_module_loads_no_lark_and_no_compiler() -> None:
    code = (
        "import sys, flowc.runtime.expression as e\n"
        "e.parse_expression('a < 1').evaluate({'a': 0})\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'lark'"
        " or m.startswith(('flowc.compiler', 'flowc.grammar'))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"


def test_the_source_never_evaluates_or_compiles_python() -> None:
    forbidden = re.compile(r"(?<![\w.])(eval|exec|compile|__import__)\(|^\s*(import|from) ast\b")
    for path in sorted(PACKAGE.glob("*.py")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            assert not forbidden.search(line), f"{path.name}:{number}: {line}"
