"""Conditions: every key a ``when`` reads exists, and comparisons type-check against the schema.

A key exists when the state schema declares it or some step writes it (an action, a map's
reduce, a map's item variable). Types come from the schema only (keys written but not declared
are not checked); ``optional[T]`` admits ``None``, models and ``any`` are unknown, and whatever
is unknown is accepted. Flagged: ordering between unrelated types (``round < "3"`` on an int),
equality that can never hold (``round == "3"``), ``in`` on a non-container, arithmetic mixing
strings and numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from flowc.compiler.ast import TypeRef
from flowc.compiler.checks.common import did_you_mean, error
from flowc.compiler.checks.facts import FlowFacts, flow_facts
from flowc.compiler.ir import FlowIR, StateFieldSpec
from flowc.errors import Diagnostic, Span
from flowc.runtime.expression import (
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
    to_source,
    walk,
)

F_UNKNOWN_KEY = "F310"
F_CONDITION_TYPE = "F311"

NUMBER = frozenset({"int", "float", "bool"})
ORDERED = {"number", "str", "list"}


@dataclass(frozen=True, slots=True)
class Type:
    """What a sub-expression may be: a set of kinds (int, float, bool, str, list, dict, none),
    plus the element type of a list (``item``) or the key and value types of a dict."""

    kinds: frozenset[str]
    item: Type | None = None
    value: Type | None = None


def check_conditions(ir: FlowIR, facts: FlowFacts | None = None) -> Iterator[Diagnostic]:
    facts = facts or flow_facts(ir)
    schema: dict[str, StateFieldSpec] = {}
    for scope in facts.scopes:
        for spec in scope.meta.schema:
            schema.setdefault(spec.name, spec)
    written = facts.written
    variables: dict[str, Span] = {}
    for map_node in facts.maps:
        if map_node.items is not None:
            variables.setdefault(map_node.items.var.name, map_node.items.var.span)
    known: dict[str, Span | None] | None = None  # with where each is defined, for a hint
    types = {name: from_type_ref(spec.type) for name, spec in schema.items()}
    checker = TypeChecker(types)
    for scope in facts.scopes:
        for source, target, arrow in facts.shape(scope).conditional:
            condition = arrow.condition
            assert condition is not None
            fallback = condition.span
            for key in condition.expression.reads:
                if key in schema or key in written or key in variables:
                    continue
                if known is None:
                    known = _known_keys(schema, written, variables)
                hint, related = did_you_mean(key, known)
                yield error(
                    F_UNKNOWN_KEY,
                    f"the condition of `{source} -> {target}` reads '{key}', which is not in "
                    "the state schema and no step writes it",
                    _name_span(condition.expression, key) or fallback,
                    hint or f"declare it: `state {{ {key}: … }}`",
                    related=related,
                )
            yield from checker.check(condition.expression, fallback)


def _known_keys(
    schema: dict[str, StateFieldSpec], written: frozenset[str], variables: dict[str, Span]
) -> dict[str, Span | None]:
    """Every key a condition may read, with where it is defined (``None``: a step writes it)."""
    known: dict[str, Span | None] = {name: spec.span for name, spec in schema.items()}
    for key in sorted(written):
        known.setdefault(key, None)
    for name, span in variables.items():
        known.setdefault(name, span)
    return known


def from_type_ref(ref: TypeRef) -> Type | None:
    name = ref.name.value
    args = [from_type_ref(a) for a in ref.args]
    if name in ("str", "int", "float", "bool"):
        return Type(frozenset({name}))
    if name == "list":
        return Type(frozenset({"list"}), item=args[0] if args else None)
    if name == "dict":
        return Type(
            frozenset({"dict"}),
            item=args[0] if args else None,
            value=args[1] if len(args) > 1 else None,
        )
    if name == "optional" and args and args[0] is not None:
        inner = args[0]
        return Type(inner.kinds | {"none"}, inner.item, inner.value)
    return None  # any, a model, or something check_names reports


def _name_span(expression: Expression, key: str) -> Span | None:
    for node in walk(expression):
        if isinstance(node, Name) and node.id == key and node.span.file != "<generated>":
            return node.span
    return None


def _categories(kinds: frozenset[str]) -> set[str]:
    return {"number" if kind in NUMBER else kind for kind in kinds}


def _describe(kind: Type) -> str:
    return " or ".join(sorted(kind.kinds))


class TypeChecker:
    """Infers a ``Type`` (or ``None``: unknown) for each sub-expression, reporting mismatches.
    One checker serves every condition of a flow (``check`` one at a time)."""

    def __init__(self, types: dict[str, Type | None]) -> None:
        self.types = types
        self.fallback: Span | None = None
        self.found: list[Diagnostic] = []
        self.categories: dict[frozenset[str], frozenset[str]] = {}

    def check(self, expression: Expression, fallback: Span) -> list[Diagnostic]:
        """The mismatches in ``expression``; ``fallback`` stands for generated nodes' spans."""
        self.fallback = fallback
        self.found = []
        self.infer(expression)
        return self.found

    def _span(self, node: Expression) -> Span:
        span = node.span
        return self.fallback if span.file == "<generated>" else span  # type: ignore[return-value]

    def _categories(self, kinds: frozenset[str]) -> frozenset[str]:
        """``kinds`` with int, float and bool as "number", worked out once per set of kinds."""
        found = self.categories.get(kinds)
        if found is None:
            found = self.categories[kinds] = frozenset(_categories(kinds))
        return found

    def _report(self, node: Expression, message: str, hint: str) -> None:
        self.found.append(error(F_CONDITION_TYPE, message, self._span(node), hint))

    def infer(self, node: Expression) -> Type | None:
        handler = _INFER.get(type(node))
        if handler is not None:
            return handler(self, node)
        for child in node.children():
            self.infer(child)
        return None

    def _literal(self, node: Literal) -> Type | None:
        return _LITERAL_TYPES[type(node.value)]

    def _name(self, node: Name) -> Type | None:
        return self.types.get(node.id)

    def _attribute(self, node: Attribute) -> Type | None:
        self.infer(node.value)
        return None

    def _unary(self, node: Unary) -> Type | None:
        inner = self.infer(node.operand)
        return BOOL if node.op == "not" else inner

    def _bool_op(self, node: BoolOp) -> Type | None:
        inferred = []
        for value in node.values:  # a loop, not a comprehension: no extra frame per operator
            inferred.append(
                self._comparison(value) if type(value) is Compare else self.infer(value)  # type: ignore[arg-type]
            )
        return _union(inferred)

    def _list(self, node: ListLiteral) -> Type | None:
        return Type(frozenset({"list"}), item=_union([self.infer(i) for i in node.items]))

    def _conditional(self, node: Conditional) -> Type | None:
        self.infer(node.test)
        return _union([self.infer(node.body), self.infer(node.orelse)])

    def _index(self, node: Index) -> Type | None:
        base = self.infer(node.value)
        self.infer(node.index)
        if base is None:
            return None
        if base.kinds == {"list"}:
            return base.item
        if base.kinds == {"dict"}:
            return base.value
        if base.kinds == {"str"}:
            return base
        return None

    def _call(self, node: Call) -> Type | None:
        args = [self.infer(a) for a in node.args]
        simple = {"len": "int", "bool": "bool", "int": "int", "float": "float", "str": "str"}
        simple |= {"any": "bool", "all": "bool", "lower": "str", "upper": "str"}
        if node.func in simple:
            return Type(frozenset({simple[node.func]}))
        if node.func == "abs" and args:
            return args[0]
        if node.func == "sorted":
            return Type(frozenset({"list"}), item=args[0].item if args and args[0] else None)
        return None

    def _binary(self, node: Binary) -> Type | None:
        spine: list[Binary] = []  # a left-leaning chain (`a + b + c …`) in a loop: it may be long
        while type(node) is Binary:
            spine.append(node)
            node = node.left  # type: ignore[assignment]
        left = self.infer(node)
        for binary in reversed(spine):
            left = self._arithmetic(binary, left, self.infer(binary.right))
        return left

    def _arithmetic(self, node: Binary, left: Type | None, right: Type | None) -> Type | None:
        if left is None or right is None:
            return None
        if left.kinds <= NUMBER and right.kinds <= NUMBER:
            if node.op == "/":
                return Type(frozenset({"float"}))
            return Type(frozenset({"float"} if "float" in left.kinds | right.kinds else {"int"}))
        if node.op == "+" and left.kinds == right.kinds and left.kinds in ({"str"}, {"list"}):
            return left
        repeat = {"str", "list"}
        if node.op == "*" and (
            (left.kinds <= repeat and right.kinds == {"int"})
            or (right.kinds <= repeat and left.kinds == {"int"})
        ):
            return left if left.kinds <= repeat else right
        if (_categories(left.kinds) & _categories(right.kinds)) == set() or "str" in (
            left.kinds | right.kinds
        ):
            self._report(
                node,
                f"`{to_source(node)}` mixes {_describe(left)} and {_describe(right)}",
                "convert one side first, e.g. `int(x)` or `str(x)`",
            )
        return None

    def _comparison(self, node: Compare) -> Type | None:
        comparators = node.comparators
        if len(comparators) != 1:
            return self._chain(node)
        # ``a < b``, as most comparisons are: ``_chain`` without its lists and loop
        left_node, right_node = node.left, comparators[0]
        left, right = self._operand(left_node), self._operand(right_node)
        if left is not None and right is not None:
            self._pair(node, node.ops[0], left_node, left, right_node, right)
        return BOOL

    def _chain(self, node: Compare) -> Type | None:
        """A comparison of any length (``a < b < c``): each operator with its two operands."""
        operands = [node.left, *node.comparators]
        inferred = [self._operand(operand) for operand in operands]
        for index, op in enumerate(node.ops):
            left, right = inferred[index], inferred[index + 1]
            if left is None or right is None:
                continue
            self._pair(node, op, operands[index], left, operands[index + 1], right)
        return BOOL

    def _operand(self, node: Expression) -> Type | None:
        """A comparison's operand's type: a name's or a literal's, the usual operands, without
        ``infer``'s dispatch."""
        kind = type(node)
        if kind is Name:
            return self.types.get(node.id)  # type: ignore[attr-defined]
        if kind is Literal:
            return _LITERAL_TYPES[type(node.value)]  # type: ignore[attr-defined]
        return self.infer(node)

    def _pair(
        self, node: Compare, op: str, left_node: Expression, left: Type, right_node: Expression,
        right: Type,
    ) -> None:  # fmt: skip
        lc, rc = self._categories(left.kinds), self._categories(right.kinds)
        if op in _ORDERING:
            if not (lc & rc & ORDERED):
                text = _pair_text(left_node, op, right_node)
                self._report(
                    node,
                    f"`{text}` compares {_describe(left)} with {_describe(right)}: "
                    "they cannot be ordered",
                    _conversion_hint(left_node, left, right_node, right),
                )
        elif op in _EQUALITY:
            if not (lc & rc):
                text = _pair_text(left_node, op, right_node)
                always = "false" if op == "==" else "true"
                self._report(
                    node,
                    f"`{text}` is always {always}: {_describe(left)} is never equal to "
                    f"{_describe(right)}",
                    _conversion_hint(left_node, left, right_node, right),
                )
        elif op in _MEMBERSHIP:
            text = _pair_text(left_node, op, right_node)
            if not right.kinds & {"list", "str", "dict"}:
                self._report(
                    node,
                    f"`{text}`: '{op}' needs a list, string or dict on the right, "
                    f"not {_describe(right)}",
                    "compare with `==` instead, or test membership in a list",
                )
            elif right.kinds == {"str"} and "str" not in left.kinds:
                self._report(
                    node,
                    f"`{text}`: only a string can be in a string, not {_describe(left)}",
                    "convert it with `str(…)`",
                )
            elif right.item is not None and not (lc & self._categories(right.item.kinds)):
                self._report(
                    node,
                    f"`{text}` is always {'false' if op == 'in' else 'true'}: "
                    f"the items are {_describe(right.item)}, not {_describe(left)}",
                    f"convert it first: `str({to_source(left_node)})`"
                    if right.item.kinds == {"str"}
                    else "compare values of the same type",
                )


_ORDERING = frozenset({"<", "<=", ">", ">="})
_EQUALITY = frozenset({"==", "!="})
_MEMBERSHIP = frozenset({"in", "not in"})


def _pair_text(left_node: Expression, op: str, right_node: Expression) -> str:
    """A comparison as written back (for messages only: printed when one is reported)."""
    return f"{to_source(left_node)} {op} {to_source(right_node)}"


def _conversion_hint(left_node: Expression, left: Type, right_node: Expression, right: Type) -> str:
    if (
        isinstance(right_node, Literal)
        and isinstance(right_node.value, str)
        and left.kinds <= NUMBER
    ):
        return f"write the number without quotes: `{right_node.value}`"
    if (
        isinstance(left_node, Literal)
        and isinstance(left_node.value, str)
        and right.kinds <= NUMBER
    ):
        return f"write the number without quotes: `{left_node.value}`"
    if "str" in left.kinds and right.kinds <= NUMBER:
        return f"convert first: `int({to_source(left_node)})`"
    if "str" in right.kinds and left.kinds <= NUMBER:
        return f"convert first: `int({to_source(right_node)})`"
    return "compare values of the same type"


def _union(types: list[Type | None]) -> Type | None:
    if not types:
        return None
    first = types[0]
    if first is not None and first.item is None and first.value is None:
        for kind in types:
            if kind is not first:
                break
        else:
            return first  # all the same scalar (``a and b`` of two comparisons): no new Type
    if any(t is None for t in types):
        return None
    kinds: frozenset[str] = frozenset()
    for kind in types:
        kinds |= kind.kinds  # type: ignore[union-attr]
    return Type(kinds)


_SCALARS: Mapping[str, Type] = MappingProxyType(
    {kind: Type(frozenset({kind})) for kind in ("int", "float", "bool", "str", "none")}
)
"""One ``Type`` per scalar kind, shared (a literal's type is made once, not per literal)."""
BOOL = _SCALARS["bool"]
_LITERAL_TYPES: Mapping[type, Type] = MappingProxyType(
    {int: _SCALARS["int"], float: _SCALARS["float"], bool: BOOL, str: _SCALARS["str"]}
    | {type(None): _SCALARS["none"]}
)
"""A literal's ``Type`` by the type of its value (a ``Literal`` holds only these five)."""

_INFER: Mapping[type, Callable[[TypeChecker, Any], Type | None]] = MappingProxyType(
    {
        Literal: TypeChecker._literal,
        Name: TypeChecker._name,
        Attribute: TypeChecker._attribute,
        Index: TypeChecker._index,
        Call: TypeChecker._call,
        Unary: TypeChecker._unary,
        Binary: TypeChecker._binary,
        Compare: TypeChecker._comparison,
        BoolOp: TypeChecker._bool_op,
        ListLiteral: TypeChecker._list,
        Conditional: TypeChecker._conditional,
    }
)
"""How ``TypeChecker.infer`` handles each expression node type (one dict lookup, not a match
over eleven class patterns)."""
