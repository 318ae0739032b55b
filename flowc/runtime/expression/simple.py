"""Conditions in their commonest shape, parsed with one regex instead of the token parser.

Most conditions are a few comparisons of a key with a value, joined by one of ``and``/``or``:
``round < 3``, ``done``, ``not done``, ``score >= 0.8 and attempts < 3``. ``parse_simple``
recognises exactly that shape (plain ASCII names, integers and decimals, strings without
escapes) and builds the nodes the precedence-climbing parser would build, spans included, in a
third of the time. Anything else, including every input with an error, returns ``None`` and
goes to the parser, which owns all diagnostics. ``tests/runtime/test_expression_simple.py``
checks the two agree on generated conditions.
"""

from __future__ import annotations

import re

from flowc.runtime.expression.lexer import Locator
from flowc.runtime.expression.nodes import (
    KEYWORDS,
    LITERAL_WORDS,
    BoolOp,
    Compare,
    Expression,
    Literal,
    Name,
    Unary,
)

_WORD = r"[A-Za-z_][A-Za-z0-9_]*"
_NUMBER = r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?![A-Za-z0-9_.])"
_STRING = r""""[^"\\\n]*"|'[^'\\\n]*'"""
_OPERAND = rf"(?:{_WORD}|{_NUMBER}|{_STRING})"
_ITEM = rf"(?:not[ \t]+{_WORD}|{_OPERAND}[ \t]*(?:==|!=|<=|>=|<|>)[ \t]*{_OPERAND}|{_WORD})"
SIMPLE_CONDITION = re.compile(rf"[ \t]*{_ITEM}(?:[ \t]+(?:and|or)[ \t]+{_ITEM})*[ \t]*")
_TOKEN = re.compile(
    rf"[ \t]*(?:(?P<string>{_STRING})|(?P<number>{_NUMBER})|(?P<word>{_WORD})"
    r"|(?P<op>==|!=|<=|>=|<|>))"
)


def parse_simple(text: str, locator: Locator) -> Expression | None:
    """The tree for ``text`` if it has the simple shape, else ``None``."""
    if SIMPLE_CONDITION.fullmatch(text) is None:
        return None
    tokens = [
        (
            match.lastgroup or "",
            match.group(match.lastgroup or 0),
            match.start(match.lastgroup or 0),
        )
        for match in _TOKEN.finditer(text)
    ]
    tokens.append(("end", "", len(text)))
    items: list[Expression] = []
    connective = None
    index = 0
    while True:
        item, index = _item(tokens, index, locator)
        if item is None:
            return None
        items.append(item)
        kind, word, _ = tokens[index]
        if kind == "end":
            break
        if word != (connective or word):
            return None  # `and` mixed with `or`: precedence is the parser's business
        connective = word
        index += 1
    if connective is None:
        return items[0]
    last = tokens[-2]
    return BoolOp(connective, tuple(items), locator.span(tokens[0][2], last[2] + len(last[1])))


def _item(
    tokens: list[tuple[str, str, int]], index: int, locator: Locator
) -> tuple[Expression | None, int]:
    """One comparison, name or ``not name`` from ``tokens[index]``, and the index after it."""
    kind, value, start = tokens[index]
    if kind == "word" and value == "not":
        kind, word, word_start = tokens[index + 1]
        if kind != "word" or word in KEYWORDS:
            return None, index
        word_end = word_start + len(word)
        name = Name(word, locator.span(word_start, word_end))
        return Unary("not", name, locator.span(start, word_end)), index + 2
    left = _operand(kind, value, start, locator)
    if left is None or tokens[index + 1][0] != "op":
        return left, index + 1
    kind, value, right_start = tokens[index + 2]
    right = _operand(kind, value, right_start, locator)
    if right is None:
        return None, index
    span = locator.span(start, right_start + len(value))
    return Compare(left, (tokens[index + 1][1],), (right,), span), index + 3


def _operand(kind: str, value: str, start: int, locator: Locator) -> Expression | None:
    if kind not in ("string", "number", "word"):
        return None
    span = locator.span(start, start + len(value))
    if kind == "string":
        return Literal(value[1:-1], span)
    if kind == "number":
        return Literal(float(value) if "." in value else int(value), span)
    if value in LITERAL_WORDS:
        return Literal(LITERAL_WORDS[value], span)
    if value in KEYWORDS:
        return None
    return Name(value, span)
