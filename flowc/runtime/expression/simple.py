"""Conditions in their commonest shape, parsed with one regex instead of the token parser.

Most conditions are a few comparisons of a key with a value, joined by one of ``and``/``or``:
``round < 3``, ``done``, ``not done``, ``score >= 0.8 and attempts < 3``. ``parse_simple``
recognises exactly that shape (plain ASCII names, integers and decimals, strings without
escapes), one regex match per item, and builds the nodes the precedence-climbing parser would
build, spans included, with the ``checked_*`` constructors (the regex has already vouched for
every value). Anything else, including every input with an error, returns ``None`` and goes to
the parser, which owns all diagnostics. ``tests/runtime/test_expression_simple.py`` checks the
two agree on generated conditions.
"""

from __future__ import annotations

import re

from flowc.errors import Span
from flowc.runtime.expression.lexer import Locator
from flowc.runtime.expression.nodes import (
    KEYWORDS,
    LITERAL_WORDS,
    Expression,
    Name,
    checked_bool,
    checked_compare,
    checked_literal,
    checked_name,
    checked_unary,
)

_new_span = tuple.__new__  # Span's own __new__ is a Python function; this is ~2× faster
_set_reads = Expression._reads.__set__  # type: ignore[attr-defined]

_WORD = r"[A-Za-z_][A-Za-z0-9_]*+"
_NUMBER = r"-?+(?:0|[1-9][0-9]*+)(?:\.[0-9]++)?+(?![A-Za-z0-9_.])"
_STRING = r""""[^"\\\n]*+"|'[^'\\\n]*+'"""
_OPERAND = rf"{_STRING}|{_NUMBER}|{_WORD}"
# One item (``not name``, ``operand``, ``operand op operand``) and what follows it: a connective
# with the spaces around it, or the end of the text.
_ITEM = re.compile(
    rf"[ \t]*+(?:(?P<not>not)[ \t]++(?P<negated>{_WORD})"
    rf"|(?P<left>{_OPERAND})(?:[ \t]*+(?P<op>==|!=|<=|>=|<|>)[ \t]*+(?P<right>{_OPERAND}))?+)"
    r"(?:[ \t]++(?P<connective>and|or)[ \t]++|[ \t]*+\Z)"
)


def parse_simple(text: str, locator: Locator) -> Expression | None:
    """The tree for ``text`` if it has the simple shape, else ``None``."""
    if "\n" in text:
        return None
    file, line, col = locator.file, locator.first_line, locator.first_col
    items: list[Expression] = []
    names: list[str] = []  # the keys read, in source order: the root's ``reads`` without a walk
    deepest = 1  # the items' largest depth: an operand is 1, a comparison or `not` 2
    connective = None
    first = position = 0
    while True:
        match = _ITEM.match(text, position)
        if match is None:
            return None
        negated, left, op, right, joined = match.group(
            "negated", "left", "op", "right", "connective"
        )
        if negated is not None:
            if negated in KEYWORDS:
                return None
            names.append(negated)
            start, end = match.span("negated")
            name = checked_name(
                negated, _new_span(Span, (file, line, start + col, line, end + col))
            )
            start = match.start("not")
            item = checked_unary(
                "not", name, _new_span(Span, (file, line, start + col, line, end + col)), 2
            )
            deepest = 2
        else:
            start, end = match.span("left")
            left_node = _operand(left, start, end, file, line, col)
            if left_node is None:
                return None
            if type(left_node) is Name:
                names.append(left)
            if op is None:
                item = left_node
            else:
                right_start, end = match.span("right")
                right_node = _operand(right, right_start, end, file, line, col)
                if right_node is None:
                    return None
                if type(right_node) is Name:
                    names.append(right)
                span = _new_span(Span, (file, line, start + col, line, end + col))
                item = checked_compare(left_node, (op,), (right_node,), span, 2)
                deepest = 2
        if not items:
            first = start
        items.append(item)
        if joined is None:
            break
        if joined != (connective or joined):
            return None  # `and` mixed with `or`: precedence is the parser's business
        connective = joined
        position = match.end()
    if connective is None:
        root = items[0]
    else:
        span = _new_span(Span, (file, line, first + col, line, end + col))
        root = checked_bool(connective, tuple(items), span, deepest + 1)
    _set_reads(root, tuple(dict.fromkeys(names)) if len(names) > 1 else tuple(names))
    return root


def _operand(value: str, start: int, end: int, file: str, line: int, col: int) -> Expression | None:
    span = _new_span(Span, (file, line, start + col, line, end + col))
    first = value[0]
    if first == '"' or first == "'":
        return checked_literal(value[1:-1], span)
    if first == "-" or first.isdigit():
        try:
            number = float(value) if "." in value else int(value)
        except ValueError:  # more digits than int() reads: the full parser reports it (F112)
            return None
        return checked_literal(number, span)
    if value in LITERAL_WORDS:
        return checked_literal(LITERAL_WORDS[value], span)
    if value in KEYWORDS:
        return None
    return checked_name(value, span)
