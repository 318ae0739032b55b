"""Evaluation: each node becomes a closure once; operands are evaluated inside a try that
re-raises flowc's own errors untouched and turns Python's into ExpressionEvaluationError."""

from __future__ import annotations

import difflib
import operator
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from flowc.errors import FlowError
from flowc.runtime.expression.errors import (
    F_LOOKUP,
    F_TYPE,
    F_VALUE,
    ExpressionEvaluationError,
    ExpressionKeyError,
)
from flowc.runtime.expression.nodes import (
    FUNCTIONS,
    Attribute,
    Binary,
    BoolOp,
    Call,
    Compare,
    Conditional,
    Evaluator,
    Expression,
    Index,
    ListLiteral,
    Literal,
    Name,
    Unary,
)
from flowc.runtime.expression.printer import to_source

MAX_REPEAT = 10_000_000  # largest str/list that `*` may build


def _mul(left: Any, right: Any) -> Any:
    repeatable = (str, bytes, list, tuple)
    if isinstance(left, repeatable) or isinstance(right, repeatable):
        sequence, times = (left, right) if isinstance(left, repeatable) else (right, left)
        if isinstance(times, int) and len(sequence) * times > MAX_REPEAT:
            raise ValueError(f"repetition would build more than {MAX_REPEAT:,} items")
    return left * right


def _mod(left: Any, right: Any) -> Any:
    if isinstance(left, str | bytes):
        raise TypeError("`%` formatting of strings is not supported")
    return left % right


def _contains(item: Any, container: Any) -> bool:
    return item in container


def _not_contains(item: Any, container: Any) -> bool:
    return item not in container


_ARITHMETIC: Mapping[str, Callable[[Any, Any], Any]] = MappingProxyType(
    {
        "+": operator.add,
        "-": operator.sub,
        "*": _mul,
        "/": operator.truediv,
        "//": operator.floordiv,
        "%": _mod,
    }
)
_COMPARISONS: Mapping[str, Callable[[Any, Any], Any]] = MappingProxyType(
    {
        "==": operator.eq,
        "!=": operator.ne,
        "<": operator.lt,
        "<=": operator.le,
        ">": operator.gt,
        ">=": operator.ge,
        "in": _contains,
        "not in": _not_contains,
        "is": operator.is_,
        "is not": operator.is_not,
    }
)
_UNARY: Mapping[str, Callable[[Any], Any]] = MappingProxyType(
    {"not": operator.not_, "-": operator.neg, "+": operator.pos}
)

_WRAPPED = (TypeError, ValueError, ArithmeticError, LookupError, AttributeError)


def _failed(node: Expression, exc: Exception) -> ExpressionEvaluationError:
    if isinstance(exc, LookupError | AttributeError):
        code = F_LOOKUP
        reason = f"key {exc.args[0]!r} not found" if type(exc) is KeyError and exc.args else exc
    else:
        code, reason = (F_TYPE if isinstance(exc, TypeError) else F_VALUE), exc
    text = to_source(node)
    shown = text if len(text) <= 80 else text[:77] + "..."
    return ExpressionEvaluationError(
        f"cannot evaluate `{shown}`: {reason}", code=code, span=node.span, expression=text
    )


def _missing(node: Expression, key: str, state: Mapping[str, Any]) -> ExpressionKeyError:
    try:
        keys = [k for _, k in zip(range(1000), state, strict=False) if isinstance(k, str)]
    except Exception:  # a state that cannot list its keys still gets the error
        keys = []
    hints = [f"did you mean '{m}'?" for m in difflib.get_close_matches(key, keys, 1)]
    return ExpressionKeyError(key, span=node.span, hints=hints)


def _constant(node: Expression, container: bool) -> tuple[bool, Any]:
    """(True, value) when ``node`` is a literal; a literal list becomes a tuple when only its
    membership is asked (``x in [1, 2]``)."""
    if type(node) is Literal:
        return True, node.value  # type: ignore[attr-defined]
    if container and type(node) is ListLiteral and all(type(i) is Literal for i in node.items):  # type: ignore[attr-defined]
        return True, tuple(i.value for i in node.items)  # type: ignore[attr-defined]
    return False, None


def compile_node(node: Expression) -> Evaluator:
    return _COMPILERS[type(node)](node)


def _compile_literal(node: Literal) -> Evaluator:
    value = node.value

    def literal(state: Mapping[str, Any]) -> Any:
        return value

    return literal


def _compile_name(node: Name) -> Evaluator:
    key = node.id

    def name(state: Mapping[str, Any]) -> Any:
        try:
            return state[key]
        except KeyError:
            raise _missing(node, key, state) from None

    return name


def _compile_attribute(node: Attribute) -> Evaluator:
    value_node, attr = node.value, node.attr
    if type(value_node) is Name:
        key = value_node.id

        def attribute_of_name(state: Mapping[str, Any]) -> Any:
            try:
                target = state[key]
            except KeyError:
                raise _missing(value_node, key, state) from None
            try:
                if type(target) is dict or isinstance(target, Mapping):
                    return target[attr]
                return getattr(target, attr)
            except _WRAPPED as exc:
                raise _failed(node, exc) from exc

        return attribute_of_name
    value = compile_node(value_node)

    def attribute(state: Mapping[str, Any]) -> Any:
        try:
            target = value(state)
            if type(target) is dict or isinstance(target, Mapping):
                return target[attr]
            return getattr(target, attr)
        except FlowError:
            raise
        except _WRAPPED as exc:
            raise _failed(node, exc) from exc

    return attribute


def _compile_index(node: Index) -> Evaluator:
    value, index = compile_node(node.value), compile_node(node.index)

    def subscript(state: Mapping[str, Any]) -> Any:
        try:
            return value(state)[index(state)]
        except FlowError:
            raise
        except _WRAPPED as exc:
            raise _failed(node, exc) from exc

    return subscript


def _compile_call(node: Call) -> Evaluator:
    function = FUNCTIONS[node.func].function
    if len(node.args) == 1 and type(node.args[0]) is Name:
        argument_node = node.args[0]
        key = argument_node.id  # type: ignore[attr-defined]

        def call_name(state: Mapping[str, Any]) -> Any:
            try:
                argument = state[key]
            except KeyError:
                raise _missing(argument_node, key, state) from None
            try:
                return function(argument)
            except _WRAPPED as exc:
                raise _failed(node, exc) from exc

        return call_name
    arguments = tuple(map(compile_node, node.args))

    def call(state: Mapping[str, Any]) -> Any:
        try:
            return function(*[argument(state) for argument in arguments])
        except FlowError:
            raise
        except _WRAPPED as exc:
            raise _failed(node, exc) from exc

    return call


def _compile_unary(node: Unary) -> Evaluator:
    apply = _UNARY[node.op]
    operand_node = node.operand
    if type(operand_node) is Name and node.op == "not":
        key = operand_node.id

        def not_name(state: Mapping[str, Any]) -> Any:
            try:
                operand = state[key]
            except KeyError:
                raise _missing(operand_node, key, state) from None
            try:
                return not operand
            except _WRAPPED as exc:
                raise _failed(node, exc) from exc

        return not_name
    if type(operand_node) is Name:
        key = operand_node.id

        def unary_name(state: Mapping[str, Any]) -> Any:
            try:
                operand = state[key]
            except KeyError:
                raise _missing(operand_node, key, state) from None
            try:
                return apply(operand)
            except _WRAPPED as exc:
                raise _failed(node, exc) from exc

        return unary_name
    operand = compile_node(operand_node)

    def unary(state: Mapping[str, Any]) -> Any:
        try:
            return apply(operand(state))
        except FlowError:
            raise
        except _WRAPPED as exc:
            raise _failed(node, exc) from exc

    return unary


def _compile_binary(node: Binary) -> Evaluator:
    spine: list[Binary] = []
    current: Expression = node
    while type(current) is Binary:
        spine.append(current)  # type: ignore[arg-type]
        current = current.left  # type: ignore[attr-defined]
    spine.reverse()
    first = compile_node(current)
    if len(spine) == 1:
        apply = _ARITHMETIC[node.op]
        is_constant, constant = _constant(node.right, container=False)
        if is_constant:

            def binary_constant(state: Mapping[str, Any]) -> Any:
                try:
                    return apply(first(state), constant)
                except FlowError:
                    raise
                except _WRAPPED as exc:
                    raise _failed(node, exc) from exc

            return binary_constant
        second = compile_node(node.right)

        def binary(state: Mapping[str, Any]) -> Any:
            try:
                return apply(first(state), second(state))
            except FlowError:
                raise
            except _WRAPPED as exc:
                raise _failed(node, exc) from exc

        return binary
    steps = tuple((_ARITHMETIC[s.op], compile_node(s.right), s) for s in spine)

    def binary_chain(state: Mapping[str, Any]) -> Any:
        step: Expression = node
        try:
            value = first(state)
            for apply, right, step in steps:  # noqa: B007 (step names the failing node)
                value = apply(value, right(state))
            return value
        except FlowError:
            raise
        except _WRAPPED as exc:
            raise _failed(step, exc) from exc

    return binary_chain


def _compile_compare(node: Compare) -> Evaluator:
    if len(node.ops) == 1:
        return _compile_single_compare(node)
    left = compile_node(node.left)
    pairs = tuple(
        (_COMPARISONS[op], compile_node(c))
        for op, c in zip(node.ops, node.comparators, strict=True)
    )

    def compare_chain(state: Mapping[str, Any]) -> Any:
        try:
            current = left(state)
            result: Any = True
            for apply, comparator in pairs:
                following = comparator(state)
                result = apply(current, following)
                if not result:
                    return result
                current = following
            return result
        except FlowError:
            raise
        except _WRAPPED as exc:
            raise _failed(node, exc) from exc

    return compare_chain


def _compile_single_compare(node: Compare) -> Evaluator:
    op = node.ops[0]
    apply = _COMPARISONS[op]
    comparator = node.comparators[0]
    if type(comparator) is Literal:  # the commonest comparator, without _constant's call
        is_constant, constant = True, comparator.value
    else:
        is_constant, constant = _constant(comparator, container=op in ("in", "not in"))
    left_node = node.left
    if is_constant and type(left_node) is Name:
        key = left_node.id

        def compare_name_constant(state: Mapping[str, Any]) -> Any:
            try:
                value = state[key]
            except KeyError:
                raise _missing(left_node, key, state) from None
            try:
                return apply(value, constant)
            except _WRAPPED as exc:
                raise _failed(node, exc) from exc

        return compare_name_constant
    left = compile_node(left_node)
    if is_constant:

        def compare_constant(state: Mapping[str, Any]) -> Any:
            try:
                return apply(left(state), constant)
            except FlowError:
                raise
            except _WRAPPED as exc:
                raise _failed(node, exc) from exc

        return compare_constant
    right = compile_node(comparator)

    def compare(state: Mapping[str, Any]) -> Any:
        try:
            return apply(left(state), right(state))
        except FlowError:
            raise
        except _WRAPPED as exc:
            raise _failed(node, exc) from exc

    return compare


def _compile_bool(node: BoolOp) -> Evaluator:
    values = tuple(map(compile_node, node.values))
    if node.op == "and":
        if len(values) == 2:
            first, second = values

            def and_pair(state: Mapping[str, Any]) -> Any:
                try:
                    value = first(state)
                    return second(state) if value else value
                except FlowError:
                    raise
                except _WRAPPED as exc:
                    raise _failed(node, exc) from exc

            return and_pair

        def and_all(state: Mapping[str, Any]) -> Any:
            try:
                for evaluate in values:
                    value = evaluate(state)
                    if not value:
                        return value
                return value
            except FlowError:
                raise
            except _WRAPPED as exc:
                raise _failed(node, exc) from exc

        return and_all

    if len(values) == 2:
        first, second = values

        def or_pair(state: Mapping[str, Any]) -> Any:
            try:
                value = first(state)
                return value if value else second(state)
            except FlowError:
                raise
            except _WRAPPED as exc:
                raise _failed(node, exc) from exc

        return or_pair

    def or_any(state: Mapping[str, Any]) -> Any:
        try:
            for evaluate in values:
                value = evaluate(state)
                if value:
                    return value
            return value
        except FlowError:
            raise
        except _WRAPPED as exc:
            raise _failed(node, exc) from exc

    return or_any


def _compile_list(node: ListLiteral) -> Evaluator:
    is_constant, constant = _constant(node, container=True)
    if is_constant:

        def list_constant(state: Mapping[str, Any]) -> list[Any]:
            return list(constant)

        return list_constant
    items = tuple(map(compile_node, node.items))

    def list_literal(state: Mapping[str, Any]) -> list[Any]:
        return [item(state) for item in items]

    return list_literal


def _compile_conditional(node: Conditional) -> Evaluator:
    test, body, orelse = compile_node(node.test), compile_node(node.body), compile_node(node.orelse)

    def conditional(state: Mapping[str, Any]) -> Any:
        try:
            return body(state) if test(state) else orelse(state)
        except FlowError:
            raise
        except _WRAPPED as exc:
            raise _failed(node, exc) from exc

    return conditional


_COMPILERS: Mapping[type, Callable[[Any], Evaluator]] = MappingProxyType(
    {
        Literal: _compile_literal,
        Name: _compile_name,
        Attribute: _compile_attribute,
        Index: _compile_index,
        Call: _compile_call,
        Unary: _compile_unary,
        Binary: _compile_binary,
        Compare: _compile_compare,
        BoolOp: _compile_bool,
        ListLiteral: _compile_list,
        Conditional: _compile_conditional,
    }
)
