"""The condition language: a small, safe, Python-like expression language.

One evaluator serves ``expr("…")`` in Python and conditions in ``.flow`` files. Text goes through a
hand-written tokenizer and a precedence-climbing parser into frozen nodes; each tree is turned
once into a tree of closures, so ``node.evaluate(state)`` is a single call with no dispatch on node
types. Nothing is ever passed to ``eval``/``exec``/``compile``, and only a fixed set of pure
functions can be called. docs/expressions.md is the reference (grammar, functions, error codes).
"""

from __future__ import annotations

import difflib
import math
import operator
import re
from bisect import bisect_right
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from functools import lru_cache
from types import MappingProxyType
from typing import Any, NamedTuple

from flowc.errors import FlowError, FlowRuntimeError, FlowSyntaxError, Span

__all__ = [
    "ALLOWED_FUNCTIONS",
    "MAX_DEPTH",
    "Attribute",
    "Binary",
    "BoolOp",
    "Call",
    "Compare",
    "Conditional",
    "Expression",
    "ExpressionEvaluationError",
    "ExpressionKeyError",
    "ExpressionSyntaxError",
    "Index",
    "ListLiteral",
    "Literal",
    "Name",
    "Unary",
    "parse_expression",
    "to_source",
    "walk",
]

MAX_DEPTH = 64  # nesting levels (brackets, operators, accessors); flat chains are not limited
CACHE_SIZE = 1024  # distinct texts kept by parse_expression's cache (span-less parses only)
MAX_REPEAT = 10_000_000  # largest str/list that `*` may build
NOWHERE = Span("<expression>", 1, 1)

Evaluator = Callable[[Mapping[str, Any]], Any]

# ---------------------------------------------------------------------------------------------
# Errors


class ExpressionSyntaxError(FlowSyntaxError, ValueError):
    """The text of a condition does not parse, or uses something the language forbids. F11x."""

    default_code = "F113"


class ExpressionKeyError(FlowRuntimeError, KeyError):
    """Evaluation read a top-level state key that the state lacks. F510; ``.key`` names it."""

    default_code = "F510"

    def __init__(self, key: str, message: str | None = None, **kwargs: Any) -> None:
        self.key = key
        super().__init__(message or f"state has no key '{key}'", **kwargs)


class ExpressionEvaluationError(FlowRuntimeError, TypeError):
    """An operation inside a condition failed (``"a" < 3``, ``len(5)``, ``xs[9]``). F511-F513;
    the span and ``.expression`` (canonical text) are those of the failing sub-expression."""

    default_code = "F511"

    def __init__(self, message: str, *, expression: str = "", **kwargs: Any) -> None:
        self.expression = expression
        super().__init__(message, **kwargs)


F_CHARACTER = "F110"
F_STRING = "F111"
F_NUMBER = "F112"
F_TOKEN = "F113"
F_END = "F114"
F_UNSUPPORTED = "F115"
F_FUNCTION = "F116"
F_CALL = "F117"
F_PRIVATE = "F118"
F_DEPTH = "F119"
F_TYPE = "F511"
F_LOOKUP = "F512"
F_VALUE = "F513"


def _too_deep(span: Span) -> ExpressionSyntaxError:
    return ExpressionSyntaxError(
        f"expression is nested too deeply (more than {MAX_DEPTH} levels)",
        code=F_DEPTH,
        span=span,
        hints=("split it into smaller conditions, or compute the value in an action",),
    )


# ---------------------------------------------------------------------------------------------
# Language tables

_LITERAL_WORDS: Mapping[str, Any] = MappingProxyType(
    {"True": True, "False": False, "None": None, "true": True, "false": False}
    | {"none": None, "null": None}
)
_OPERATOR_WORDS = frozenset({"and", "or", "not", "in", "is", "if", "else"})
_PYTHON_WORDS_TEXT = """lambda for while import from def class return yield await async del global
    nonlocal assert pass raise try except finally with as elif break continue"""
_PYTHON_WORDS = frozenset(_PYTHON_WORDS_TEXT.split())  # Python keywords that are never names
KEYWORDS = _OPERATOR_WORDS | _LITERAL_WORDS.keys() | _PYTHON_WORDS

COND, OR, AND, NOT, CMP, ADD, MUL, UNARY, ATOM = range(9)  # precedence, loosest first
_BINARY_PREC: Mapping[str, int] = MappingProxyType(
    {"+": ADD, "-": ADD, "*": MUL, "/": MUL, "//": MUL, "%": MUL}
)
_COMPARE_SYMBOLS = frozenset({"==", "!=", "<", "<=", ">", ">="})
COMPARE_OPS = _COMPARE_SYMBOLS | {"in", "not in", "is", "is not"}
UNARY_OPS = frozenset({"not", "-", "+"})


def _lower(value: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"lower() needs a string, not {type(value).__name__}")
    return value.lower()


def _upper(value: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"upper() needs a string, not {type(value).__name__}")
    return value.upper()


class _Function(NamedTuple):
    function: Callable[..., Any]
    min_args: int
    max_args: int | None


_FUNCTIONS: Mapping[str, _Function] = MappingProxyType(
    {
        "abs": _Function(abs, 1, 1),
        "all": _Function(all, 1, 1),
        "any": _Function(any, 1, 1),
        "bool": _Function(bool, 1, 1),
        "float": _Function(float, 1, 1),
        "int": _Function(int, 1, 1),
        "len": _Function(len, 1, 1),
        "lower": _Function(_lower, 1, 1),
        "max": _Function(max, 1, None),
        "min": _Function(min, 1, None),
        "round": _Function(round, 1, 2),
        "sorted": _Function(sorted, 1, 1),
        "str": _Function(str, 1, 1),
        "sum": _Function(sum, 1, 1),
        "upper": _Function(_upper, 1, 1),
    }
)
ALLOWED_FUNCTIONS: tuple[str, ...] = tuple(sorted(_FUNCTIONS))


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
_LITERAL_TYPES = (bool, int, float, str, type(None))

# ---------------------------------------------------------------------------------------------
# Nodes


class Expression:
    """Base of all nodes. Subclasses are frozen slotted dataclasses whose ``span`` is not
    compared. ``evaluate`` (a closure) and ``reads`` are computed on first use and kept."""

    __slots__ = ("_depth", "evaluate", "reads")

    span: Span
    evaluate: Evaluator
    reads: tuple[str, ...]

    def __getattr__(self, name: str) -> Any:
        if name == "evaluate":
            value: Any = _compile(self)
        elif name == "reads":
            value = tuple(dict.fromkeys(n.id for n in walk(self) if type(n) is Name))
        else:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        object.__setattr__(self, name, value)
        return value

    def children(self) -> tuple[Expression, ...]:
        """Direct sub-expressions, in source order."""
        return ()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {to_source(self)}>"

    def __reduce__(self) -> tuple[Any, ...]:  # rebuild through __init__ so closures are remade
        return (type(self), tuple(getattr(self, f.name) for f in fields(self)))  # type: ignore[arg-type]

    def _finish(self, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise _too_deep(self.span)
        object.__setattr__(self, "_depth", depth)


def _tuple_field(node: Expression, name: str) -> tuple[Any, ...]:
    value = tuple(getattr(node, name))
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
        if type(value) not in _LITERAL_TYPES or (type(value) is float and math.isnan(value)):
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
        spec = _FUNCTIONS.get(self.func)  # type: ignore[arg-type]
        if spec is None:
            raise _invalid(
                "Call", f"{self.func!r} is not an allowed function", self.span, F_FUNCTION
            )
        if len(args) < spec.min_args or (spec.max_args is not None and len(args) > spec.max_args):
            raise _invalid("Call", _arity_message(self.func, len(args)), self.span, F_CALL)
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
        if self.op not in _ARITHMETIC:
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
        if not ops or len(ops) != len(comparators) or not set(ops) <= COMPARE_OPS:
            raise _invalid("Compare", f"bad operators {ops!r} for {len(comparators)}", self.span)
        self._finish(max(self.left._depth, *(c._depth for c in comparators)) + 1)

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


def walk(node: Expression) -> Iterator[Expression]:
    """Every node of the tree, pre-order, in source order (iterative: long chains are fine)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children()))


# ---------------------------------------------------------------------------------------------
# Tokenizer


class Token(NamedTuple):
    kind: str  # "name", "keyword", "number", "string", "op", "eof"
    text: str
    value: Any
    start: int
    end: int


_SPACE = re.compile(r"[ \t\r\n\f]*")
_IDENTIFIER = re.compile(r"[^\W\d]\w*")
_NUMBER = re.compile(
    r"(?:[0-9][0-9_]*(?:\.(?:[0-9][0-9_]*)?)?|\.[0-9][0-9_]*)(?:[eE][+-]?[0-9_]+)?"
)
_NUMBER_GLUE = re.compile(r"[\w.]*")
_PLAIN_CHARS = {'"': re.compile(r'[^\\\n"]+'), "'": re.compile(r"[^\\\n']+")}
_TWO_CHAR_OPS = frozenset({"//", "==", "!=", "<=", ">=", ":=", "**", "&&", "||", "<<", ">>"})
_ONE_CHAR_OPS = frozenset("+-*/%<>()[],.=!&|^~@:;{}")
_ESCAPES = MappingProxyType({"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'"})
_STRING_PREFIXES = frozenset({"f", "r", "b", "u", "rb", "br", "fr", "rf"})
_CHARACTER_HINTS = MappingProxyType(
    {
        "#": "comments are not allowed inside an expression",
        "`": "quote strings with ' or \"",
        "$": "state keys are plain names: write `key`, not `$key`",
        "?": "use `x if condition else y`",
        "\\": "a backslash is only allowed inside a string",
    }
)


class _Locator:
    """Turns offsets in ``text`` into spans, shifted to where ``text`` starts in its file."""

    def __init__(self, text: str, origin: Span | None) -> None:
        self.line_starts = [0] + [i + 1 for i, c in enumerate(text) if c == "\n"]
        self.origin = origin

    def point(self, offset: int) -> tuple[int, int]:
        index = bisect_right(self.line_starts, offset) - 1
        line, col = index + 1, offset - self.line_starts[index] + 1
        if self.origin is not None:
            if line == 1:
                col += self.origin.col - 1
            line += self.origin.line - 1
        return line, col

    def span(self, start: int, end: int) -> Span:
        line, col = self.point(start)
        end_line, end_col = self.point(max(end, start))
        file = self.origin.file if self.origin is not None else NOWHERE.file
        return Span(file, line, col, end_line, end_col)


def _error(
    code: str, message: str, locator: _Locator, start: int, end: int, *hints: str
) -> ExpressionSyntaxError:
    return ExpressionSyntaxError(
        message, code=code, span=locator.span(start, end), hints=[h for h in hints if h]
    )


def _tokenize(text: str, locator: _Locator) -> list[Token]:
    tokens: list[Token] = []
    size = len(text)
    position = 0
    while True:
        position = _SPACE.match(text, position).end()  # type: ignore[union-attr]
        if position >= size:
            tokens.append(Token("eof", "", None, size, size))
            return tokens
        char = text[position]
        pair = text[position : position + 2]
        if char in "\"'":
            token = _scan_string(text, position, locator)
        elif "0" <= char <= "9" or (char == "." and "0" <= pair[1:] <= "9" and len(pair) == 2):
            token = _scan_number(text, position, locator)
        elif identifier := _IDENTIFIER.match(text, position):
            token = _scan_word(text, identifier.group(), position, locator)
        elif pair in _TWO_CHAR_OPS:
            token = Token("op", pair, None, position, position + 2)
        elif char in _ONE_CHAR_OPS:
            token = Token("op", char, None, position, position + 1)
        else:
            shown = char if char.isprintable() else f"U+{ord(char):04X}"
            raise _error(
                F_CHARACTER,
                f"unexpected character '{shown}'",
                locator,
                position,
                position + 1,
                _CHARACTER_HINTS.get(char, ""),
            )
        tokens.append(token)
        position = token.end


def _scan_word(text: str, word: str, start: int, locator: _Locator) -> Token:
    end = start + len(word)
    if end < len(text) and text[end] in "\"'" and word.lower() in _STRING_PREFIXES:
        raise _error(
            F_UNSUPPORTED,
            f"string prefix '{word}' is not supported (no f-strings, raw or byte strings)",
            locator,
            start,
            end + 1,
            "write a plain string; join values with `+` and `str(…)`",
        )
    if not word.isidentifier():
        raise _error(F_CHARACTER, f"'{word}' is not a valid name", locator, start, end)
    return Token("keyword" if word in KEYWORDS else "name", word, None, start, end)


def _scan_number(text: str, start: int, locator: _Locator) -> Token:
    match = _NUMBER.match(text, start)
    end = match.end()  # type: ignore[union-attr]
    glued = _NUMBER_GLUE.match(text, end).end()  # type: ignore[union-attr]
    literal = text[start:end]
    if glued > end:
        bad = text[start:glued]
        hint = "only decimal numbers are supported" if bad[:2].lower() in ("0x", "0o", "0b") else ""
        raise _error(F_NUMBER, f"invalid number '{bad}'", locator, start, glued, hint)
    is_float = any(c in literal for c in ".eE")
    digits = literal.replace("_", "")
    if not is_float and len(digits) > 1 and digits[0] == "0" and digits.strip("0"):
        raise _error(
            F_NUMBER,
            f"invalid number '{literal}': leading zeros are not allowed",
            locator,
            start,
            end,
            f"write {int(digits)}",
        )
    try:
        value: int | float = float(literal) if is_float else int(literal)
    except ValueError as exc:
        raise _error(F_NUMBER, f"invalid number '{literal}': {exc}", locator, start, end) from None
    return Token("number", literal, value, start, end)


def _scan_string(text: str, start: int, locator: _Locator) -> Token:
    quote = text[start]
    if text.startswith(quote * 3, start):
        raise _error(F_STRING, "triple-quoted strings are not supported", locator, start, start + 3)
    plain = _PLAIN_CHARS[quote]
    parts: list[str] = []
    position = start + 1
    size = len(text)
    while True:
        if run := plain.match(text, position):
            parts.append(run.group())
            position = run.end()
        if position >= size or text[position] == "\n":
            raise _error(
                F_STRING,
                "unterminated string",
                locator,
                start,
                position,
                f"close it with {quote}",
            )
        char = text[position]
        if char == quote:
            return Token("string", text[start : position + 1], "".join(parts), start, position + 1)
        char, length = _scan_escape(text, position, locator)
        parts.append(char)
        position += length


def _scan_escape(text: str, position: int, locator: _Locator) -> tuple[str, int]:
    """The character an escape at ``position`` (a backslash) stands for, and its length."""
    letter = text[position + 1 : position + 2]
    if letter in _ESCAPES:
        return _ESCAPES[letter], 2
    if letter in ("u", "U"):
        width = 4 if letter == "u" else 8
        digits = text[position + 2 : position + 2 + width]
        if len(digits) == width and all(c in "0123456789abcdefABCDEF" for c in digits):
            code_point = int(digits, 16)
            if code_point <= 0x10FFFF:
                return chr(code_point), 2 + width
        raise _error(
            F_STRING,
            f"invalid escape '\\{letter}{digits}': expected {width} hex digits",
            locator,
            position,
            position + 2 + len(digits),
            f"write \\{letter}{'0' * (width - 3)}e9 for 'é'",
        )
    shown = "\\" + letter if letter and letter != "\n" else "\\ at the end of a line"
    raise _error(
        F_STRING,
        f"unknown escape '{shown}' in string",
        locator,
        position,
        position + 2,
        "known escapes: \\n \\t \\r \\\\ \\\" \\' \\uXXXX \\UXXXXXXXX; write \\\\ for a backslash",
    )


# ---------------------------------------------------------------------------------------------
# Parser

_TOKEN_HINTS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "=": (F_TOKEN, "`=` is assignment; use `==` to compare"),
        "!": (F_TOKEN, "use `not`, not `!` (and `!=` for inequality)"),
        "&&": (F_TOKEN, "use `and`, not `&&`"),
        "||": (F_TOKEN, "use `or`, not `||`"),
        "&": (F_UNSUPPORTED, "bitwise operators are not supported; use `and`"),
        "|": (F_UNSUPPORTED, "bitwise operators are not supported; use `or`"),
        "^": (F_UNSUPPORTED, "bitwise operators are not supported; use `!=` for exclusive or"),
        "~": (F_UNSUPPORTED, "bitwise operators are not supported; use `not`"),
        "<<": (F_UNSUPPORTED, "bitwise operators are not supported"),
        ">>": (F_UNSUPPORTED, "bitwise operators are not supported"),
        "@": (F_UNSUPPORTED, "matrix multiplication is not supported"),
        "**": (F_UNSUPPORTED, "`**` (power) is not supported; multiply, e.g. `x * x`"),
        ":=": (F_UNSUPPORTED, "assignment expressions (`:=`) are not supported"),
        "{": (F_UNSUPPORTED, "dict and set literals are not supported; keep them in state"),
        ":": (F_UNSUPPORTED, "slices, lambdas and dicts are not supported"),
        ";": (F_TOKEN, "a condition is a single expression; combine conditions with `and`"),
        ",": (F_UNSUPPORTED, "tuples are not supported; use a list `[a, b]`"),
    }
)
_WORD_HINTS: Mapping[str, str] = MappingProxyType(
    {
        "lambda": "lambdas are not supported",
        "for": "comprehensions and loops are not supported; compute the value in an action",
        "import": "imports are not supported",
        "from": "imports are not supported",
    }
)


class _Parser:
    """Precedence climbing over a token list. ``nesting`` counts open brackets, prefix
    operators, accessors and right operands, so the parser's own recursion stays bounded."""

    def __init__(self, tokens: list[Token], locator: _Locator) -> None:
        self.tokens = tokens
        self.index = 0
        self.token = tokens[0]
        self.last_end = 0
        self.locator = locator
        self.nesting = 0

    # -- helpers
    def advance(self) -> Token:
        token = self.token
        self.last_end = token.end
        self.index += 1
        self.token = self.tokens[min(self.index, len(self.tokens) - 1)]
        return token

    def peek(self, ahead: int = 1) -> Token:
        return self.tokens[min(self.index + ahead, len(self.tokens) - 1)]

    def at(self, kind: str, text: str) -> bool:
        return self.token.kind == kind and self.token.text == text

    def span_from(self, start: int) -> Span:
        return self.locator.span(start, self.last_end)

    def enter(self, token: Token) -> None:
        self.nesting += 1
        if self.nesting > MAX_DEPTH:
            raise _too_deep(self.locator.span(token.start, token.end))

    def nested(self, parse: Callable[[int], Expression], precedence: int) -> Expression:
        self.enter(self.token)
        node = parse(precedence)
        self.nesting -= 1
        return node

    def unexpected(self, token: Token, expected: str, *hints: str) -> ExpressionSyntaxError:
        if token.kind == "eof":
            return _error(
                F_END,
                f"unexpected end of expression; expected {expected}",
                self.locator,
                token.start,
                token.end,
                *hints,
            )
        code, hint = _TOKEN_HINTS.get(token.text, (F_TOKEN, "")) if token.kind == "op" else ("", "")
        if token.kind == "keyword" and token.text in _PYTHON_WORDS:
            code = F_UNSUPPORTED
            hint = _WORD_HINTS.get(
                token.text, f"`{token.text}` is a Python keyword, not allowed here"
            )
        elif token.kind == "keyword" and token.text == "not":
            hint = "did you mean `not in`?"
        return _error(
            code or F_TOKEN,
            f"unexpected {_describe(token)}; expected {expected}",
            self.locator,
            token.start,
            token.end,
            hint,
            *hints,
        )

    def close(self, opener: Token, closer: str, expected: str) -> None:
        if self.at("op", closer):
            self.advance()
            return
        line, col = self.locator.point(opener.start)
        if self.token.kind == "eof":
            raise _error(
                F_END,
                f"'{opener.text}' at {line}:{col} is never closed",
                self.locator,
                opener.start,
                self.token.end,
                f"add '{closer}'",
            )
        raise self.unexpected(self.token, expected)

    # -- grammar
    def parse(self) -> Expression:
        node = self.expression()
        if self.token.kind != "eof":
            hints = []
            if self.token.kind in ("name", "number", "string"):
                hints.append("is an operator missing between the two?")
            raise self.unexpected(self.token, "an operator or the end of the expression", *hints)
        return node

    def expression(self, _precedence: int = COND) -> Expression:
        start = self.token.start
        body = self.binary(OR)
        if not self.at("keyword", "if"):
            return body
        self.enter(self.advance())
        test = self.binary(OR)
        if not self.at("keyword", "else"):
            raise self.unexpected(self.token, "`else`", "write `a if condition else b`")
        self.advance()
        orelse = self.expression()
        self.nesting -= 1
        return Conditional(test, body, orelse, self.span_from(start))

    def infix_precedence(self) -> int:
        token = self.token
        if token.kind == "op":
            if token.text in _COMPARE_SYMBOLS:
                return CMP
            return _BINARY_PREC.get(token.text, -1)
        if token.kind == "keyword":
            if token.text == "or":
                return OR
            if token.text == "and":
                return AND
            if token.text in ("in", "is") or (token.text == "not" and self.peek().text == "in"):
                return CMP
        return -1

    def binary(self, min_precedence: int) -> Expression:
        start = self.token.start
        left = self.unary(min_precedence)
        while (precedence := self.infix_precedence()) >= min_precedence:
            if precedence == CMP:
                ops: list[str] = []
                comparators: list[Expression] = []
                while self.infix_precedence() == CMP:
                    ops.append(self.compare_operator())
                    comparators.append(self.nested(self.binary, ADD))
                left = Compare(left, tuple(ops), tuple(comparators), self.span_from(start))
            elif precedence in (OR, AND):
                word = self.token.text
                values = [left]
                while self.at("keyword", word):
                    self.advance()
                    values.append(self.nested(self.binary, precedence + 1))
                left = BoolOp(word, tuple(values), self.span_from(start))
            else:
                symbol = self.advance().text
                right = self.nested(self.binary, precedence + 1)
                left = Binary(symbol, left, right, self.span_from(start))
        return left

    def compare_operator(self) -> str:
        first = self.advance().text
        if first == "not":
            self.advance()
            return "not in"
        if first == "is" and self.at("keyword", "not"):
            self.advance()
            return "is not"
        return first

    def unary(self, min_precedence: int) -> Expression:
        token = self.token
        if token.kind == "keyword" and token.text == "not":
            if min_precedence > NOT:
                raise _error(
                    F_TOKEN,
                    "`not` cannot be used here without parentheses",
                    self.locator,
                    token.start,
                    token.end,
                    "write `a == (not b)`",
                )
            self.advance()
            operand = self.nested(self.binary, NOT)
            return Unary("not", operand, self.span_from(token.start))
        if token.kind == "op" and token.text in ("-", "+"):
            self.advance()
            number, after = self.token, self.peek()
            is_accessed = after.kind == "op" and after.text in (".", "[", "(")
            if token.text == "-" and number.kind == "number" and not is_accessed:
                self.advance()
                return Literal(-number.value, self.span_from(token.start))
            operand = self.nested(self.binary, UNARY)
            return Unary(token.text, operand, self.span_from(token.start))
        return self.postfix()

    def postfix(self) -> Expression:
        start = self.token.start
        node = self.primary()
        depth = self.nesting
        while self.token.kind == "op" and self.token.text in (".", "[", "("):
            opener = self.advance()
            self.enter(opener)
            if opener.text == ".":
                name = self.token
                if name.kind not in ("name", "keyword"):
                    raise self.unexpected(name, "an attribute name after '.'")
                self.advance()
                if name.text.startswith("_"):
                    raise _error(
                        F_PRIVATE,
                        f"attribute '{name.text}' begins with '_'; private and dunder "
                        "attributes cannot be read",
                        self.locator,
                        name.start,
                        name.end,
                        "expose the value under a public name",
                    )
                node = Attribute(node, name.text, self.span_from(start))
            elif opener.text == "[":
                index = self.expression()
                if self.at("op", ":"):
                    raise _error(
                        F_UNSUPPORTED,
                        "slices are not supported",
                        self.locator,
                        self.token.start,
                        self.token.end,
                        "index one element, e.g. `xs[0]` or `xs[-1]`",
                    )
                self.close(opener, "]", "']'")
                node = Index(node, index, self.span_from(start))
            else:
                raise _error(
                    F_CALL,
                    f"`{to_source(node)}` cannot be called; only the built-in functions can",
                    self.locator,
                    start,
                    opener.end,
                    _method_hint(node),
                )
        self.nesting = depth
        return node

    def primary(self) -> Expression:
        token = self.token
        if token.kind == "number":
            self.advance()
            return Literal(token.value, self.span_from(token.start))
        if token.kind == "string":
            self.advance()
            if self.token.kind == "string":
                raise self.unexpected(self.token, "an operator", "join strings with `+`")
            return Literal(token.value, self.span_from(token.start))
        if token.kind == "name":
            self.advance()
            if self.at("op", "("):
                return self.call(token)
            return Name(token.text, self.span_from(token.start))
        if token.kind == "keyword" and token.text in _LITERAL_WORDS:
            self.advance()
            return Literal(_LITERAL_WORDS[token.text], self.span_from(token.start))
        if token.kind == "op" and token.text == "(":
            self.enter(self.advance())
            if self.at("op", ")"):
                raise _error(
                    F_UNSUPPORTED,
                    "empty parentheses '()': tuples are not supported",
                    self.locator,
                    token.start,
                    self.token.end,
                    "use a list `[]`",
                )
            node = self.expression()
            self.close(token, ")", "')'")
            self.nesting -= 1
            return node
        if token.kind == "op" and token.text == "[":
            self.enter(self.advance())
            items = self.sequence(token, "]")
            self.nesting -= 1
            return ListLiteral(tuple(items), self.span_from(token.start))
        raise self.unexpected(token, "a value (a name, number, string, list or '(')")

    def sequence(self, opener: Token, closer: str) -> list[Expression]:
        """Comma-separated expressions up to ``closer`` (a trailing comma is allowed)."""
        items: list[Expression] = []
        while not self.at("op", closer):
            items.append(self.expression())
            if self.at("op", ","):
                self.advance()
                continue
            if self.at("op", "=") and type(items[-1]) is Name:
                raise _error(
                    F_UNSUPPORTED,
                    "keyword arguments are not supported",
                    self.locator,
                    self.token.start,
                    self.token.end,
                    "pass arguments by position",
                )
            if self.at("keyword", "for"):
                raise self.unexpected(self.token, f"',' or '{closer}'")
            self.close(opener, closer, f"',' or '{closer}'")
            return items
        self.advance()
        return items

    def call(self, name: Token) -> Expression:
        if name.text not in _FUNCTIONS:
            raise _unknown_function(name.text, self.locator.span(name.start, name.end))
        self.enter(self.advance())
        args = self.sequence(self.tokens[self.index - 1], ")")
        self.nesting -= 1
        spec = _FUNCTIONS[name.text]
        if len(args) < spec.min_args or (spec.max_args is not None and len(args) > spec.max_args):
            raise _error(
                F_CALL,
                _arity_message(name.text, len(args)),
                self.locator,
                name.start,
                self.last_end,
            )
        return Call(name.text, tuple(args), self.span_from(name.start))


def _describe(token: Token) -> str:
    if token.kind == "eof":
        return "end of expression"
    text = token.text if len(token.text) <= 30 else token.text[:27] + "..."
    if token.kind in ("name", "number", "string"):
        return f"{token.kind} {text}"
    return f"'{text}'"


def _arity_message(function: str, given: int) -> str:
    spec = _FUNCTIONS[function]
    if spec.max_args is None:
        wanted = f"at least {spec.min_args}"
    elif spec.min_args == spec.max_args:
        wanted = str(spec.min_args)
    else:
        wanted = f"{spec.min_args} or {spec.max_args}"
    plural = "" if wanted == "1" else "s"
    return f"{function}() takes {wanted} argument{plural} ({given} given)"


def _unknown_function(name: str, span: Span) -> ExpressionSyntaxError:
    hints = [f"did you mean `{m}`?" for m in difflib.get_close_matches(name, ALLOWED_FUNCTIONS, 1)]
    hints.append("allowed functions: " + ", ".join(ALLOWED_FUNCTIONS))
    return ExpressionSyntaxError(
        f"unknown function '{name}'", code=F_FUNCTION, span=span, hints=hints
    )


def _method_hint(node: Expression) -> str:
    if type(node) is Attribute and node.attr in _FUNCTIONS:
        return f"methods cannot be called; write `{node.attr}({to_source(node.value)})`"
    return "allowed functions: " + ", ".join(ALLOWED_FUNCTIONS)


def parse_expression(text: str, *, span: Span | None = None) -> Expression:
    """Parse a condition. ``span`` is where ``text`` starts in its file; node and error positions
    are shifted by it. Parses without a span are cached (LRU, CACHE_SIZE texts) and shared."""
    if not isinstance(text, str):
        raise TypeError(f"an expression must be a str, not {type(text).__name__}")
    if span is None:
        return _parse_cached(text)
    return _parse(text, span)


@lru_cache(maxsize=CACHE_SIZE)
def _parse_cached(text: str) -> Expression:
    return _parse(text, None)


def _parse(text: str, origin: Span | None) -> Expression:
    locator = _Locator(text, origin)
    try:
        root = _Parser(_tokenize(text, locator), locator).parse()
    except ExpressionSyntaxError as error:
        if origin is None:
            error.with_source(text)
        raise
    _ = root.evaluate  # build the closures now, not on the first step
    return root


# ---------------------------------------------------------------------------------------------
# Printer


def _precedence(node: Expression) -> int:
    kind = type(node)
    if kind is Binary:
        return _BINARY_PREC[node.op]  # type: ignore[attr-defined]
    if kind is Compare:
        return CMP
    if kind is BoolOp:
        return OR if node.op == "or" else AND  # type: ignore[attr-defined]
    if kind is Unary:
        return NOT if node.op == "not" else UNARY  # type: ignore[attr-defined]
    if kind is Conditional:
        return COND
    if kind is Literal and _is_number(node.value) and math.copysign(1, node.value) < 0:  # type: ignore[attr-defined]
        return UNARY
    return ATOM


def _is_number(value: Any) -> bool:
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
        bare = _precedence(value) == ATOM and not (
            type(value) is Literal and _is_number(value.value)
        )
        return f"{_wrap(value, not bare)}.{node.attr}"  # type: ignore[attr-defined]
    if kind is Index:
        value = node.value  # type: ignore[attr-defined]
        return f"{_wrap(value, _precedence(value) < ATOM)}[{to_source(node.index)}]"  # type: ignore[attr-defined]
    if kind is Call:
        return f"{node.func}({', '.join(map(to_source, node.args))})"  # type: ignore[attr-defined]
    if kind is ListLiteral:
        return f"[{', '.join(map(to_source, node.items))}]"  # type: ignore[attr-defined]
    if kind is Unary:
        operand = node.operand  # type: ignore[attr-defined]
        if node.op == "not":  # type: ignore[attr-defined]
            return f"not {_wrap(operand, _precedence(operand) < NOT)}"
        folds = node.op == "-" and type(operand) is Literal and _is_number(operand.value)  # type: ignore[attr-defined]
        folds = folds and _precedence(operand) == ATOM
        return node.op + _wrap(operand, folds or _precedence(operand) < UNARY)  # type: ignore[attr-defined]
    if kind is Compare:
        parts = [_wrap(node.left, _precedence(node.left) <= CMP)]  # type: ignore[attr-defined]
        for op, comparator in zip(node.ops, node.comparators, strict=True):  # type: ignore[attr-defined]
            parts.append(f"{op} {_wrap(comparator, _precedence(comparator) <= CMP)}")
        return " ".join(parts)
    if kind is BoolOp:
        own = _precedence(node)
        return f" {node.op} ".join(_wrap(v, _precedence(v) <= own) for v in node.values)  # type: ignore[attr-defined]
    if kind is Conditional:
        body, test = node.body, node.test  # type: ignore[attr-defined]
        return (
            f"{_wrap(body, _precedence(body) == COND)} if "
            f"{_wrap(test, _precedence(test) == COND)} else {to_source(node.orelse)}"  # type: ignore[attr-defined]
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
    left_precedence = _precedence(current)
    opened = 0
    for step in spine:
        own = _BINARY_PREC[step.op]
        if left_precedence < own:
            opened += 1
            parts.append(")")
        right = step.right
        parts.append(f" {step.op} {_wrap(right, _precedence(right) <= own)}")
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


# ---------------------------------------------------------------------------------------------
# Evaluation: each node becomes a closure once; operands are evaluated inside a try that
# re-raises flowc's own errors untouched and turns Python's into ExpressionEvaluationError.

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


def _compile(node: Expression) -> Evaluator:
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
    value, attr = _compile(node.value), node.attr

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
    value, index = _compile(node.value), _compile(node.index)

    def subscript(state: Mapping[str, Any]) -> Any:
        try:
            return value(state)[index(state)]
        except FlowError:
            raise
        except _WRAPPED as exc:
            raise _failed(node, exc) from exc

    return subscript


def _compile_call(node: Call) -> Evaluator:
    function = _FUNCTIONS[node.func].function
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
    arguments = tuple(map(_compile, node.args))

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
    operand = _compile(operand_node)

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
    first = _compile(current)
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
        second = _compile(node.right)

        def binary(state: Mapping[str, Any]) -> Any:
            try:
                return apply(first(state), second(state))
            except FlowError:
                raise
            except _WRAPPED as exc:
                raise _failed(node, exc) from exc

        return binary
    steps = tuple((_ARITHMETIC[s.op], _compile(s.right), s) for s in spine)

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
    left = _compile(node.left)
    pairs = tuple(
        (_COMPARISONS[op], _compile(c)) for op, c in zip(node.ops, node.comparators, strict=True)
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
    is_constant, constant = _constant(node.comparators[0], container=op in ("in", "not in"))
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
    left = _compile(left_node)
    if is_constant:

        def compare_constant(state: Mapping[str, Any]) -> Any:
            try:
                return apply(left(state), constant)
            except FlowError:
                raise
            except _WRAPPED as exc:
                raise _failed(node, exc) from exc

        return compare_constant
    right = _compile(node.comparators[0])

    def compare(state: Mapping[str, Any]) -> Any:
        try:
            return apply(left(state), right(state))
        except FlowError:
            raise
        except _WRAPPED as exc:
            raise _failed(node, exc) from exc

    return compare


def _compile_bool(node: BoolOp) -> Evaluator:
    values = tuple(map(_compile, node.values))
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
    items = tuple(map(_compile, node.items))

    def list_literal(state: Mapping[str, Any]) -> list[Any]:
        return [item(state) for item in items]

    return list_literal


def _compile_conditional(node: Conditional) -> Evaluator:
    test, body, orelse = _compile(node.test), _compile(node.body), _compile(node.orelse)

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
