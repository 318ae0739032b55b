"""The condition type checker's shortcut for a one-operator comparison (``a < b``, the usual
kind) agrees with the general path for comparisons of any length, on every pairing of typed
names and literals."""

from __future__ import annotations

import itertools

from flowc.compiler.ast import Name, TypeRef
from flowc.compiler.checks.conditions import TypeChecker, from_type_ref
from flowc.errors import Span
from flowc.runtime.expression import Compare, parse_expression

SPAN = Span("t.flow", 1, 1)


def _type(name: str, *args: TypeRef) -> TypeRef:
    return TypeRef(Name(name, SPAN), args, SPAN)


TYPES = {
    "i": _type("int"),
    "f": _type("float"),
    "b": _type("bool"),
    "s": _type("str"),
    "ls": _type("list", _type("str")),
    "li": _type("list", _type("int")),
    "d": _type("dict", _type("str"), _type("int")),
    "oi": _type("optional", _type("int")),
    "a": _type("any"),
}
OPERANDS = [*TYPES, "unknown", "1", "1.5", '"x"', "true", "none", "[1]", "len(s)", "i + 1"]
OPERATORS = ["<", "<=", ">", ">=", "==", "!=", "in", "not in"]


def test_a_one_operator_comparison_is_checked_as_the_general_path_checks_it() -> None:
    checker = TypeChecker({name: from_type_ref(ref) for name, ref in TYPES.items()})
    reported = 0
    for left, op, right in itertools.product(OPERANDS, OPERATORS, OPERANDS):
        node = parse_expression(f"{left} {op} {right}")
        assert type(node) is Compare and len(node.ops) == 1
        found = []
        for path in (checker._comparison, checker._chain):
            checker.fallback, checker.found = SPAN, []
            found.append((path(node), [repr(d) for d in checker.found]))
        assert found[0] == found[1], f"{left} {op} {right}"
        reported += bool(found[0][1])
    assert reported > 100  # most pairings are fine, many are not: both are compared
