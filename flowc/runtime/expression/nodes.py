"""The language's vocabulary (words, operators, functions) and its frozen node classes."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any, NamedTuple

from flowc.errors import Span
from flowc.runtime.expression.errors import (
    F_CALL,
    F_DEPTH,
    F_FUNCTION,
    F_PRIVATE,
    F_UNSUPPORTED,
    ExpressionSyntaxError,
)

MAX_DEPTH = 64  # nesting levels (brackets, operators, accessors); flat chains are not limited
NOWHERE = Span("<expression>", 1, 1)

Evaluator = Callable[[Mapping[str, Any]], Any]


def too_deep(span: Span) -> ExpressionSyntaxError:
    return ExpressionSyntaxError(
        f"expression is nested too deeply (more than {MAX_DEPTH} levels)",
        code=F_DEPTH,
        span=span,
        hints=("split it into smaller conditions, or compute the value in an action",),
    )


LITERAL_WORDS: Mapping[str, Any] = MappingProxyType(
    {"True": True, "False": False, "None": None, "true": True, "false": False}
    | {"none": None, "null": None}
)
OPERATOR_WORDS = frozenset({"and", "or", "not", "in", "is", "if", "else"})
_PYTHON_WORDS_TEXT = """lambda for while import from def class return yield await async del global
    nonlocal assert pass raise try except finally with as elif break continue"""
PYTHON_WORDS = frozenset(_PYTHON_WORDS_TEXT.split())  # Python keywords that are never names
KEYWORDS = OPERATOR_WORDS | LITERAL_WORDS.keys() | PYTHON_WORDS

COND, OR, AND, NOT, CMP, ADD, MUL, UNARY, ATOM = range(9)  # precedence, loosest first
BINARY_PRECEDENCE: Mapping[str, int] = MappingProxyType(
    {"+": ADD, "-": ADD, "*": MUL, "/": MUL, "//": MUL, "%": MUL}
)
COMPARE_SYMBOLS = frozenset({"==", "!=", "<", "<=", ">", ">="})
COMPARE_OPS = COMPARE_SYMBOLS | {"in", "not in", "is", "is not"}
UNARY_OPS = frozenset({"not", "-", "+"})


def _lower(value: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"lower() needs a string, not {type(value).__name__}")
    return value.lower()


def _upper(value: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"upper() needs a string, not {type(value).__name__}")
    return value.upper()


class Function(NamedTuple):
    function: Callable[..., Any]
    min_args: int
    max_args: int | None
    usage: str


FUNCTIONS: Mapping[str, Function] = MappingProxyType(
    {
        "abs": Function(abs, 1, 1, "abs(x)"),
        "all": Function(all, 1, 1, "all(items)"),
        "any": Function(any, 1, 1, "any(items)"),
        "bool": Function(bool, 1, 1, "bool(x)"),
        "float": Function(float, 1, 1, "float(x)"),
        "int": Function(int, 1, 1, "int(x)"),
        "len": Function(len, 1, 1, "len(x)"),
        "lower": Function(_lower, 1, 1, "lower(text)"),
        "max": Function(max, 1, None, "max(items) or max(a, b, …)"),
        "min": Function(min, 1, None, "min(items) or min(a, b, …)"),
        "round": Function(round, 1, 2, "round(x) or round(x, digits)"),
        "sorted": Function(sorted, 1, 1, "sorted(items)"),
        "str": Function(str, 1, 1, "str(x)"),
        "sum": Function(sum, 1, 1, "sum(items)"),
        "upper": Function(_upper, 1, 1, "upper(text)"),
    }
)
ALLOWED_FUNCTIONS: tuple[str, ...] = tuple(sorted(FUNCTIONS))


LITERAL_TYPES = (bool, int, float, str, type(None))

# ---------------------------------------------------------------------------------------------
# Nodes


class Expression:
    """Base of all nodes. Subclasses are frozen slotted dataclasses whose ``span`` is not
    compared. ``evaluate`` (a closure) and ``reads`` are computed on first use and kept.

    They are properties over private slots, not a ``__getattr__`` hook: a class with that hook
    loses CPython's specialised attribute reads on *every* attribute of every node (~20 times
    slower each), which the compiler's passes pay on each ``span``, ``left`` or ``op``."""

    __slots__ = ("_depth", "_evaluate", "_reads")

    span: Span

    @property
    def evaluate(self) -> Evaluator:
        try:
            return self._evaluate  # type: ignore[no-any-return]
        except AttributeError:
            from flowc.runtime.expression.evaluator import compile_node

            value = compile_node(self)
            object.__setattr__(self, "_evaluate", value)
            return value

    @property
    def reads(self) -> tuple[str, ...]:
        """State keys the expression reads, each once, in source order."""
        try:
            return self._reads  # type: ignore[no-any-return]
        except AttributeError:
            names: list[str] = []
            stack: list[Expression] = [self]
            while stack:  # ``walk``'s pre-order, without its generators
                node = stack.pop()
                if type(node) is Name:
                    names.append(node.id)
                else:
                    stack.extend(reversed(node.children()))
            value = tuple(dict.fromkeys(names))
            object.__setattr__(self, "_reads", value)
            return value

    def children(self) -> tuple[Expression, ...]:
        """Direct sub-expressions, in source order."""
        return ()

    def __repr__(self) -> str:
        from flowc.runtime.expression.printer import to_source

        return f"<{type(self).__name__} {to_source(self)}>"

    def __reduce__(self) -> tuple[Any, ...]:  # rebuild through __init__ so closures are remade
        return (type(self), tuple(getattr(self, f.name) for f in fields(self)))  # type: ignore[arg-type]

    def _finish(self, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise too_deep(self.span)
        object.__setattr__(self, "_depth", depth)


def _tuple_field(node: Expression, name: str) -> tuple[Any, ...]:
    """The field as a tuple (callers may pass lists), stored back only when it was not one."""
    value = getattr(node, name)
    if type(value) is not tuple:
        value = tuple(value)
        object.__setattr__(node, name, value)
    return value


def _invalid(node_type: str, message: str, span: Span, code: str = F_UNSUPPORTED) -> Exception:
    return ExpressionSyntaxError(f"invalid {node_type} node: {message}", code=code, span=span)


@dataclass(frozen=True, slots=True, repr=False)
class Literal(Expression):
    """A number, string, boolean or None. Equality distinguishes ``1``, ``1.0`` and ``True``."""

    value: bool | int | float | str | None
    span: Span = field(default=NOWHERE, compare=False)

    def __post_init__(self) -> None:
        value = self.value
        if type(value) not in LITERAL_TYPES or (type(value) is float and math.isnan(value)):
            raise _invalid("Literal", f"{value!r} is not a literal value", self.span)
        self._finish(1)

    def __eq__(self, other: object) -> bool:
        if type(other) is not Literal:
            return NotImplemented
        return type(self.value) is type(other.value) and self.value == other.value

    def __hash__(self) -> int:
        return hash((type(self.value), self.value))


@dataclass(frozen=True, slots=True, repr=False)
class Name(Expression):
    """A top-level state key."""

    id: str
    span: Span = field(default=NOWHERE, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id.isidentifier() or self.id in KEYWORDS:
            raise _invalid("Name", f"{self.id!r} is not a usable name", self.span)
        self._finish(1)


@dataclass(frozen=True, slots=True, repr=False)
class Attribute(Expression):
    """``value.attr``: a key of a Mapping, otherwise an attribute (pydantic models, objects)."""

    value: Expression
    attr: str
    span: Span = field(default=NOWHERE, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.attr, str) or not self.attr.isidentifier():
            raise _invalid("Attribute", f"{self.attr!r} is not an identifier", self.span)
        if self.attr.startswith("_"):
            raise _invalid("Attribute", f"'{self.attr}' begins with '_'", self.span, F_PRIVATE)
        self._finish(self.value._depth + 1)

    def children(self) -> tuple[Expression, ...]:
        return (self.value,)


@dataclass(frozen=True, slots=True, repr=False)
class Index(Expression):
    """``value[index]``: list/str/tuple position (negative counts from the end) or mapping key."""

    value: Expression
    index: Expression
    span: Span = field(default=NOWHERE, compare=False)

    def __post_init__(self) -> None:
        self._finish(max(self.value._depth, self.index._depth) + 1)

    def children(self) -> tuple[Expression, ...]:
        return (self.value, self.index)


@dataclass(frozen=True, slots=True, repr=False)
class Call(Expression):
    """``func(args…)`` where ``func`` is one of ALLOWED_FUNCTIONS."""

    func: str
    args: tuple[Expression, ...]
    span: Span = field(default=NOWHERE, compare=False)

    def __post_init__(self) -> None:
        args = _tuple_field(self, "args")
        spec = FUNCTIONS.get(self.func)  # type: ignore[arg-type]
        if spec is None:
            raise _invalid(
                "Call", f"{self.func!r} is not an allowed function", self.span, F_FUNCTION
            )
        if len(args) < spec.min_args or (spec.max_args is not None and len(args) > spec.max_args):
            raise _invalid("Call", arity_message(self.func, len(args)), self.span, F_CALL)
        self._finish(max((a._depth for a in args), default=0) + 1)

    def children(self) -> tuple[Expression, ...]:
        return self.args


@dataclass(frozen=True, slots=True, repr=False)
class Unary(Expression):
    """``not x``, ``-x``, ``+x``."""

    op: str
    operand: Expression
    span: Span = field(default=NOWHERE, compare=False)

    def __post_init__(self) -> None:
        if self.op not in UNARY_OPS:
            raise _invalid("Unary", f"unknown operator {self.op!r}", self.span)
        self._finish(self.operand._depth + 1)

    def children(self) -> tuple[Expression, ...]:
        return (self.operand,)


@dataclass(frozen=True, slots=True, repr=False)
class Binary(Expression):
    """``left op right`` for ``+ - * / // %``. A left-leaning chain (``a + b + c …``) is not
    nesting: equality, hashing, printing and evaluation walk it in a loop, so it may be long."""

    op: str
    left: Expression
    right: Expression
    span: Span = field(default=NOWHERE, compare=False)

    def __post_init__(self) -> None:
        if self.op not in BINARY_PRECEDENCE:
            raise _invalid("Binary", f"unknown operator {self.op!r}", self.span)
        self._finish(max(self.left._depth, self.right._depth + 1))

    def children(self) -> tuple[Expression, ...]:
        return (self.left, self.right)

    def __eq__(self, other: object) -> bool:
        if type(other) is not Binary:
            return NotImplemented
        mine: Expression = self
        theirs: Expression = other
        while type(mine) is Binary and type(theirs) is Binary:
            if mine.op != theirs.op or mine.right != theirs.right:  # type: ignore[attr-defined]
                return False
            mine, theirs = mine.left, theirs.left  # type: ignore[attr-defined]
        if type(mine) is Binary or type(theirs) is Binary:
            return False
        return mine == theirs

    def __hash__(self) -> int:
        spine: list[Any] = []
        node: Expression = self
        while type(node) is Binary:
            spine.append((node.op, hash(node.right)))  # type: ignore[attr-defined]
            node = node.left  # type: ignore[attr-defined]
        spine.append(hash(node))
        return hash(tuple(spine))


@dataclass(frozen=True, slots=True, repr=False)
class Compare(Expression):
    """``left op1 c1 op2 c2 …``, chained as in Python (``a < b < c`` is ``a < b and b < c``)."""

    left: Expression
    ops: tuple[str, ...]
    comparators: tuple[Expression, ...]
    span: Span = field(default=NOWHERE, compare=False)

    def __post_init__(self) -> None:
        ops, comparators = _tuple_field(self, "ops"), _tuple_field(self, "comparators")
        if not ops or len(ops) != len(comparators) or not all(op in COMPARE_OPS for op in ops):
            raise _invalid("Compare", f"bad operators {ops!r} for {len(comparators)}", self.span)
        depth = self.left._depth
        for comparator in comparators:
            depth = max(depth, comparator._depth)
        self._finish(depth + 1)

    def children(self) -> tuple[Expression, ...]:
        return (self.left, *self.comparators)


@dataclass(frozen=True, slots=True, repr=False)
class BoolOp(Expression):
    """``a and b and …`` / ``a or b or …``: short-circuit, returns an operand (Python's rule)."""

    op: str
    values: tuple[Expression, ...]
    span: Span = field(default=NOWHERE, compare=False)

    def __post_init__(self) -> None:
        values = _tuple_field(self, "values")
        if self.op not in ("and", "or") or len(values) < 2:
            raise _invalid("BoolOp", f"{self.op!r} with {len(values)} operands", self.span)
        self._finish(max(v._depth for v in values) + 1)

    def children(self) -> tuple[Expression, ...]:
        return self.values


@dataclass(frozen=True, slots=True, repr=False)
class ListLiteral(Expression):
    """``[a, b, …]``; evaluates to a new list each time."""

    items: tuple[Expression, ...]
    span: Span = field(default=NOWHERE, compare=False)

    def __post_init__(self) -> None:
        items = _tuple_field(self, "items")
        self._finish(max((i._depth for i in items), default=0) + 1)

    def children(self) -> tuple[Expression, ...]:
        return self.items


@dataclass(frozen=True, slots=True, repr=False)
class Conditional(Expression):
    """``body if test else orelse``."""

    test: Expression
    body: Expression
    orelse: Expression
    span: Span = field(default=NOWHERE, compare=False)

    def __post_init__(self) -> None:
        self._finish(max(self.test._depth, self.body._depth, self.orelse._depth) + 1)

    def children(self) -> tuple[Expression, ...]:
        return (self.body, self.test, self.orelse)


def arity_message(function: str, given: int) -> str:
    spec = FUNCTIONS[function]
    if spec.max_args is None:
        wanted = f"at least {spec.min_args}"
    elif spec.min_args == spec.max_args:
        wanted = str(spec.min_args)
    else:
        wanted = f"{spec.min_args} or {spec.max_args}"
    plural = "" if wanted in ("1", "at least 1") else "s"
    return f"{function}() takes {wanted} argument{plural} ({given} given)"


def walk(node: Expression) -> Iterator[Expression]:
    """Every node of the tree, pre-order, in source order (iterative: long chains are fine)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children()))


# ---------------------------------------------------------------------------------------------
# Construction without ``__init__``, for a caller that has already checked the values.
#
# A frozen dataclass's ``__init__`` sets every field through ``object.__setattr__`` and then runs
# ``__post_init__``'s checks; ``simple.py`` builds nodes whose values its regex has already
# vouched for. Each node is drafted as an instance of a mutable class with the node class's base
# and slots, its fields set by plain attribute stores, then given its real class by
# ``__class__`` assignment (CPython allows it only between classes of the same layout, and
# checks): the same objects (same type, fields, depth; frozen, equal, hashed and printed the
# same) in about a third of the instructions. ``flowc.compiler.ast`` builds its commonest nodes
# the same way.


def draft_class(cls: type) -> type:
    """A mutable class whose instances have exactly the layout of ``cls``'s."""
    return type(f"{cls.__name__}Draft", cls.__bases__, {"__slots__": cls.__slots__})  # type: ignore[attr-defined]


_NameDraft = draft_class(Name)
_LiteralDraft = draft_class(Literal)
_UnaryDraft = draft_class(Unary)
_CompareDraft = draft_class(Compare)
_BoolOpDraft = draft_class(BoolOp)


def checked_name(id: str, span: Span) -> Name:
    """``Name(id, span)`` for an ``id`` already known to be an identifier and not a keyword."""
    node = _NameDraft()
    node.id = id
    node.span = span
    node._depth = 1
    node.__class__ = Name
    return node


def checked_literal(value: bool | int | float | str | None, span: Span) -> Literal:
    """``Literal(value, span)`` for a value already known to be a literal (not NaN)."""
    node = _LiteralDraft()
    node.value = value
    node.span = span
    node._depth = 1
    node.__class__ = Literal
    return node


def checked_unary(op: str, operand: Expression, span: Span, depth: int) -> Unary:
    """``Unary(op, operand, span)`` for an operator already known to be one of UNARY_OPS.
    ``depth`` is the node's own (the caller built the operand and knows it)."""
    node = _UnaryDraft()
    node.op = op
    node.operand = operand
    node.span = span
    node._depth = depth
    node.__class__ = Unary
    return node


def checked_compare(
    left: Expression,
    ops: tuple[str, ...],
    comparators: tuple[Expression, ...],
    span: Span,
    depth: int,
) -> Compare:
    """``Compare(…)`` for tuples already known to match (one comparator per operator in
    COMPARE_OPS), ``depth`` known as in ``checked_unary``."""
    node = _CompareDraft()
    node.left = left
    node.ops = ops
    node.comparators = comparators
    node.span = span
    node._depth = depth
    node.__class__ = Compare
    return node


def checked_bool(op: str, values: tuple[Expression, ...], span: Span, depth: int) -> BoolOp:
    """``BoolOp(op, values, span)`` for ``and``/``or`` and a tuple of at least two values,
    ``depth`` known as in ``checked_unary``."""
    node = _BoolOpDraft()
    node.op = op
    node.values = values
    node.span = span
    node._depth = depth
    node.__class__ = BoolOp
    return node
