"""Precedence climbing from tokens to nodes, and parse_expression, the entry point."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from functools import lru_cache
from types import MappingProxyType

from flowc.errors import Span
from flowc.runtime.expression.errors import (
    F_CALL,
    F_END,
    F_FUNCTION,
    F_PRIVATE,
    F_TOKEN,
    F_UNSUPPORTED,
    ExpressionSyntaxError,
)
from flowc.runtime.expression.evaluator import compile_node
from flowc.runtime.expression.lexer import Locator, Token, syntax_error, tokenize
from flowc.runtime.expression.nodes import (
    ADD,
    ALLOWED_FUNCTIONS,
    AND,
    BINARY_PRECEDENCE,
    CMP,
    COMPARE_SYMBOLS,
    COND,
    FUNCTIONS,
    LITERAL_WORDS,
    MAX_DEPTH,
    NOT,
    OR,
    PYTHON_WORDS,
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
    arity_message,
    too_deep,
)
from flowc.runtime.expression.printer import to_source
from flowc.runtime.expression.simple import parse_simple

# What ``root.evaluate`` would do on first use, without the failed slot read and the
# AttributeError it raises first.
_set_evaluate = Expression._evaluate.__set__  # type: ignore[attr-defined]

CACHE_SIZE = 1024  # distinct texts kept by parse_expression's cache (span-less parses only)


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

    def __init__(self, tokens: list[Token], locator: Locator) -> None:
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
            raise too_deep(self.locator.span(token.start, token.end))

    def nested(self, parse: Callable[[int], Expression], precedence: int) -> Expression:
        self.enter(self.token)
        node = parse(precedence)
        self.nesting -= 1
        return node

    def unexpected(self, token: Token, expected: str, *hints: str) -> ExpressionSyntaxError:
        if token.kind == "eof":
            return syntax_error(
                F_END,
                f"unexpected end of expression; expected {expected}",
                self.locator,
                token.start,
                token.end,
                *hints,
                "the expression is incomplete"
                if token.start
                else "write a condition, e.g. `n < 3`",
            )
        code, hint = _TOKEN_HINTS.get(token.text, (F_TOKEN, "")) if token.kind == "op" else ("", "")
        if token.kind == "keyword" and token.text in PYTHON_WORDS:
            code = F_UNSUPPORTED
            hint = _WORD_HINTS.get(
                token.text, f"`{token.text}` is a Python keyword, not allowed here"
            )
        elif token.kind == "keyword" and token.text == "not":
            hint = "did you mean `not in`?"
        return syntax_error(
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
            raise syntax_error(
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

    def expression(self, precedence: int = COND) -> Expression:
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
            if token.text in COMPARE_SYMBOLS:
                return CMP
            return BINARY_PRECEDENCE.get(token.text, -1)
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
                raise syntax_error(
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
                    raise syntax_error(
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
                    raise syntax_error(
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
                raise syntax_error(
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
        if token.kind == "keyword" and token.text in LITERAL_WORDS:
            self.advance()
            return Literal(LITERAL_WORDS[token.text], self.span_from(token.start))
        if token.kind == "op" and token.text == "(":
            self.enter(self.advance())
            if self.at("op", ")"):
                raise syntax_error(
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
                raise syntax_error(
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
        if name.text not in FUNCTIONS:
            raise _unknown_function(name.text, self.locator.span(name.start, name.end))
        self.enter(self.advance())
        args = self.sequence(self.tokens[self.index - 1], ")")
        self.nesting -= 1
        spec = FUNCTIONS[name.text]
        if len(args) < spec.min_args or (spec.max_args is not None and len(args) > spec.max_args):
            raise syntax_error(
                F_CALL,
                arity_message(name.text, len(args)),
                self.locator,
                name.start,
                self.last_end,
                f"usage: {spec.usage}",
            )
        return Call(name.text, tuple(args), self.span_from(name.start))


def _describe(token: Token) -> str:
    if token.kind == "eof":
        return "end of expression"
    text = token.text if len(token.text) <= 30 else token.text[:27] + "..."
    if token.kind in ("name", "number", "string"):
        return f"{token.kind} {text}"
    return f"'{text}'"


def _unknown_function(name: str, span: Span) -> ExpressionSyntaxError:
    hints = [f"did you mean `{m}`?" for m in difflib.get_close_matches(name, ALLOWED_FUNCTIONS, 1)]
    hints.append("allowed functions: " + ", ".join(ALLOWED_FUNCTIONS))
    return ExpressionSyntaxError(
        f"unknown function '{name}'", code=F_FUNCTION, span=span, hints=hints
    )


def _method_hint(node: Expression) -> str:
    if type(node) is Attribute and node.attr in FUNCTIONS:
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
    locator = Locator(text, origin)
    root = parse_simple(text, locator)
    if root is None:
        try:
            root = _Parser(tokenize(text, locator), locator).parse()
        except ExpressionSyntaxError as error:
            if origin is None:
                error.with_source(text)
            raise
    _set_evaluate(root, compile_node(root))  # the closures now, not on the first step
    return root
