"""to_source: canonical text with minimal parentheses, the inverse of parsing."""

from __future__ import annotations

import math
from typing import Any

from flowc.runtime.expression.nodes import (
    AND,
    ATOM,
    BINARY_PRECEDENCE,
    CMP,
    COND,
    NOT,
    OR,
    UNARY,
    Attribute,
    Binary,
    BoolOp,
    Call,
    Compare,
    Conditional,
    Expression,
    Index,
    ListLiteral,
    Literal,
    Name,
    Unary,
)


def precedence(node: Expression) -> int:
    kind = type(node)
    if kind is Binary:
        return BINARY_PRECEDENCE[node.op]  # type: ignore[attr-defined]
    if kind is Compare:
        return CMP
    if kind is BoolOp:
        return OR if node.op == "or" else AND  # type: ignore[attr-defined]
    if kind is Unary:
        return NOT if node.op == "not" else UNARY  # type: ignore[attr-defined]
    if kind is Conditional:
        return COND
    if kind is Literal and is_number(node.value) and math.copysign(1, node.value) < 0:  # type: ignore[attr-defined]
        return UNARY
    return ATOM


def is_number(value: Any) -> bool:
    return type(value) in (int, float)


def _wrap(node: Expression, parenthesize: bool) -> str:
    text = to_source(node)
    return f"({text})" if parenthesize else text


def to_source(node: Expression) -> str:
    """Canonical text: minimal parentheses, double-quoted strings.
    ``parse_expression(to_source(n)) == n`` for every valid tree."""
    kind = type(node)
    if kind is Literal:
        return _literal_source(node.value)  # type: ignore[attr-defined]
    if kind is Name:
        return node.id  # type: ignore[attr-defined]
    if kind is Binary:
        return _binary_source(node)  # type: ignore[arg-type]
    if kind is Attribute:
        value = node.value  # type: ignore[attr-defined]
        bare = precedence(value) == ATOM and not (type(value) is Literal and is_number(value.value))
        return f"{_wrap(value, not bare)}.{node.attr}"  # type: ignore[attr-defined]
    if kind is Index:
        value = node.value  # type: ignore[attr-defined]
        return f"{_wrap(value, precedence(value) < ATOM)}[{to_source(node.index)}]"  # type: ignore[attr-defined]
    if kind is Call:
        return f"{node.func}({', '.join(map(to_source, node.args))})"  # type: ignore[attr-defined]
    if kind is ListLiteral:
        return f"[{', '.join(map(to_source, node.items))}]"  # type: ignore[attr-defined]
    if kind is Unary:
        operand = node.operand  # type: ignore[attr-defined]
        if node.op == "not":  # type: ignore[attr-defined]
            return f"not {_wrap(operand, precedence(operand) < NOT)}"
        folds = node.op == "-" and type(operand) is Literal and is_number(operand.value)  # type: ignore[attr-defined]
        folds = folds and precedence(operand) == ATOM
        return node.op + _wrap(operand, folds or precedence(operand) < UNARY)  # type: ignore[attr-defined]
    if kind is Compare:
        parts = [_wrap(node.left, precedence(node.left) <= CMP)]  # type: ignore[attr-defined]
        for op, comparator in zip(node.ops, node.comparators, strict=True):  # type: ignore[attr-defined]
            parts.append(f"{op} {_wrap(comparator, precedence(comparator) <= CMP)}")
        return " ".join(parts)
    if kind is BoolOp:
        own = precedence(node)
        return f" {node.op} ".join(_wrap(v, precedence(v) <= own) for v in node.values)  # type: ignore[attr-defined]
    if kind is Conditional:
        body, test = node.body, node.test  # type: ignore[attr-defined]
        return (
            f"{_wrap(body, precedence(body) == COND)} if "
            f"{_wrap(test, precedence(test) == COND)} else {to_source(node.orelse)}"  # type: ignore[attr-defined]
        )
    raise TypeError(f"not an expression node: {node!r}")


def _binary_source(node: Binary) -> str:
    spine: list[Binary] = []
    current: Expression = node
    while type(current) is Binary:
        spine.append(current)  # type: ignore[arg-type]
        current = current.left  # type: ignore[attr-defined]
    spine.reverse()
    parts = [to_source(current)]
    left_precedence = precedence(current)
    opened = 0
    for step in spine:
        own = BINARY_PRECEDENCE[step.op]
        if left_precedence < own:
            opened += 1
            parts.append(")")
        right = step.right
        parts.append(f" {step.op} {_wrap(right, precedence(right) <= own)}")
        left_precedence = own
    return "(" * opened + "".join(parts)


def _literal_source(value: Any) -> str:
    if value is None or type(value) is bool:
        return str(value)
    if type(value) is int:
        return str(value)
    if type(value) is float:
        if math.isinf(value):
            return "1e999" if value > 0 else "-1e999"
        return repr(value)
    return _quote(value)


def _quote(text: str) -> str:
    out = ['"']
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif char in "\n\t\r":
            out.append({"\n": "\\n", "\t": "\\t", "\r": "\\r"}[char])
        elif char.isprintable():
            out.append(char)
        else:
            code = ord(char)
            out.append(f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
    out.append('"')
    return "".join(out)
