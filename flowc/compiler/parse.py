"""Text → typed AST: ``parse(text, file)`` returns ``(Module | None, diagnostics)``.

Clean input takes ``flowc.compiler.fast_path`` (one regex pass on Lark's LALR tables, calling
``AstBuilder`` on each reduce); anything it cannot vouch for takes the full path, where the LALR
parser (``flowc.grammar.get_parser``) builds a tree of tokens that ``AstBuilder`` turns into the
frozen nodes of ``flowc.compiler.ast``. Syntax errors are recovered from and collected
(``flowc.compiler.syntax_errors``); the builder runs only on a tree that parsed cleanly, so no
half-built node is ever produced. Values the grammar leaves open (numbers with units, strings'
escapes, conditions) are checked by the builder, which reports through the same diagnostics.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from lark import Token, Transformer, Tree
from lark.exceptions import UnexpectedInput

from flowc.compiler import ast
from flowc.compiler.collector import collector_paused
from flowc.compiler.fast_path import parse_clean
from flowc.compiler.syntax_errors import (
    F_ENCODING,
    F_NAME,
    F_SHAPE,
    F_VALUE,
    ErrorCollector,
    diagnostic,
)
from flowc.errors import Diagnostic, FlowSyntaxError, Span
from flowc.grammar import raw_parse
from flowc.runtime.expression import MAX_DEPTH, ExpressionSyntaxError, Literal, parse_expression

# Names of actions, graphs, maps and imports may start a transition line, so they must not be a
# word that starts a statement, continues a line, or means the entry or the end of a flow.
RESERVED_NAMES = frozenset(
    {"flow", "from", "import", "state", "action", "graph", "map", "start", "end"}
    | {"reads", "writes", "inputs", "for", "when"}
)

_NUMBER = re.compile(
    r"(?P<sign>[+-]?)(?P<digits>(?:\d[\d_]*(?:\.\d[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?\d+)?)(?P<unit>.*)",
    re.S,
)


# ---- input preparation -------------------------------------------------------------------------


def prepare_source(text: str, file: str) -> tuple[str, list[Diagnostic]]:
    """Normalise what the language accepts and reject what it cannot read.

    A leading BOM is dropped; CRLF and lone CR become LF (columns are unchanged); NUL characters
    mean the input is not text and yield one F101 diagnostic."""
    text = text.removeprefix("\ufeff")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\x00" in text:
        offset = text.index("\x00")
        line = text.count("\n", 0, offset) + 1
        col = offset - (text.rfind("\n", 0, offset) + 1) + 1
        return text, [
            diagnostic(
                F_ENCODING,
                "this file contains NUL bytes: it looks like binary data, not a .flow file",
                Span(file, line, col, line, col + 1),
                "a .flow file is UTF-8 text",
            )
        ]
    return text, []


def decode_source(data: bytes, file: str) -> tuple[str | None, list[Diagnostic]]:
    """Decode a file's bytes as UTF-8 (BOM allowed), or explain why they are not .flow text."""
    if b"\x00" in data:
        text = data[: data.index(b"\x00")].decode("utf-8", "replace") + "\x00"
        return None, prepare_source(text, file)[1]
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError as error:
        start = error.start
        line = data.count(b"\n", 0, start) + 1
        line_start = data.rfind(b"\n", 0, start) + 1
        col = len(data[line_start:start].decode("utf-8", "replace")) + 1
        byte = data[start : start + 1].hex()
        return None, [
            diagnostic(
                F_ENCODING,
                f"this file is not UTF-8 text (byte 0x{byte} at offset {start})",
                Span(file, line, col, line, col + 1),
                "save the file as UTF-8",
            )
        ]


def read_source(path: str | Path) -> tuple[str | None, list[Diagnostic]]:
    """Read a .flow file as text, reporting unreadable or non-text files as diagnostics."""
    file = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        reason = error.strerror or str(error)
        return None, [diagnostic(F_ENCODING, f"cannot read {file}: {reason}", None, "")]
    return decode_source(data, file)


# ---- entry points ------------------------------------------------------------------------------


def parse(text: str, file: str = "<string>") -> tuple[ast.Module | None, list[Diagnostic]]:
    """Parse .flow source into a typed AST. Never raises for bad input: every problem is a
    diagnostic, and the module is ``None`` whenever there is an error."""
    return _parse(text, file, fast=True)


def parse_full(text: str, file: str = "<string>") -> tuple[ast.Module | None, list[Diagnostic]]:
    """``parse`` without the fast path (``flowc.compiler.fast_path``): Lark's contextual lexer
    and error recovery on every input. Gives the same result as ``parse``; tests compare them."""
    return _parse(text, file, fast=False)


def _parse(text: str, file: str, *, fast: bool) -> tuple[ast.Module | None, list[Diagnostic]]:
    if not isinstance(text, str):
        raise TypeError(f"parse() takes the source as str, not {type(text).__name__}")
    text, diagnostics = prepare_source(text, file)
    if diagnostics:
        return None, diagnostics
    with collector_paused():
        builder = AstBuilder(file)
        clean = parse_clean(text, builder) if fast else None
        if clean is not None:
            module, comments = clean
        else:
            collector = ErrorCollector(text, file)
            try:
                tree, comments = raw_parse(text, on_error=collector.on_error)
            except UnexpectedInput as error:
                collector.give_up(error)
                return None, collector.diagnostics
            if collector.diagnostics:
                return None, _with_condition_errors(tree, collector.diagnostics, file)
            builder = AstBuilder(file)
            try:
                module = builder.transform(tree)
            except RecursionError:  # Lark's transformer recurses; the fast path does not
                return None, [_too_deep(tree, file)]
    if builder.diagnostics:
        return None, builder.diagnostics
    comment_nodes = tuple(
        ast.Comment(token.value.rstrip(), _token_span(token, file)) for token in comments
    )
    return ast.Module(module.statements, comment_nodes, module.span), []


_Nested = TypeVar("_Nested", ast.ListLiteral, ast.DictLiteral, ast.TypeRef)
_NESTING_RULES = frozenset({"list_literal", "dict_literal", "type_ref"})
_TOO_DEEP = f"a value or type nested more than {MAX_DEPTH} levels deep"
_TOO_DEEP_HINT = "build deep data in an action instead of writing it in the .flow file"


def _too_deep(tree: Tree, file: str) -> Diagnostic:
    """The nesting error (F108) for a tree too deep for the transformer, at the innermost
    list, dict or type that goes past ``MAX_DEPTH`` levels (found without recursion)."""
    depth: dict[int, int] = {}
    for subtree in tree.iter_subtrees():  # children before parents
        inner = max([depth.get(id(c), 0) for c in subtree.children], default=0)
        depth[id(subtree)] = found = inner + (subtree.data in _NESTING_RULES)
        if found > MAX_DEPTH:
            first = next(subtree.scan_values(lambda v: isinstance(v, Token)), None)
            line, col = (first.line, first.column) if first is not None else (1, 1)
            return diagnostic(F_SHAPE, _TOO_DEEP, Span(file, line, col), _TOO_DEEP_HINT)
    return diagnostic(F_SHAPE, _TOO_DEEP, Span(file, 1, 1), _TOO_DEEP_HINT)


def _with_condition_errors(tree: Tree, syntax: list[Diagnostic], file: str) -> list[Diagnostic]:
    """Syntax errors plus the errors of conditions on other lines: a broken condition is its own
    mistake, worth reporting in the same run. (Only conditions are checked on a recovered tree;
    other value checks wait for a clean parse, so placeholders never produce diagnostics.)"""
    bad_lines = {d.span.line for d in syntax if d.span is not None}
    found = list(syntax)
    for token in tree.scan_values(lambda v: isinstance(v, Token) and v.type == "CONDITION"):
        if token.line in bad_lines:
            continue
        text = token.value.rstrip()
        try:
            parse_expression(text, span=Span(file, token.line, token.column))
        except ExpressionSyntaxError as error:
            found.extend(error.diagnostics)
    return sorted(found, key=lambda d: (d.span.line, d.span.col) if d.span else (0, 0))


def parse_or_raise(text: str, file: str = "<string>") -> ast.Module:
    """``parse``, raising ``FlowSyntaxError`` (with the source attached) on any error."""
    module, diagnostics = parse(text, file)
    if module is None:
        raise FlowSyntaxError(diagnostics=diagnostics, source=text)
    return module


def parse_file(path: str | Path) -> tuple[ast.Module | None, list[Diagnostic]]:
    """Read and parse a .flow file; the diagnostics' spans name ``path``."""
    text, diagnostics = read_source(path)
    if text is None:
        return None, diagnostics
    return parse(text, str(path))


# ---- tree → AST --------------------------------------------------------------------------------


def _token_span(token: Token, file: str) -> Span:
    return Span(file, token.line, token.column, token.end_line, token.end_column)


_new_span = tuple.__new__  # Span's own __new__ is a Python function; this is ~2× faster
_Condition = ast.new_condition
_VALUE_TOKENS = frozenset({"NAME", "NUMBER", "STRING", "CONDITION", "CASCADE_MODE"})


class _Group(NamedTuple):
    """Children of a helper rule (a clause, a branch list, a map body) on their way up."""

    kind: str
    items: tuple[Any, ...]
    span: Span


class AstBuilder(Transformer):
    """One method per kept grammar rule, named after it, returning the rule's AST node.

    Problems only the values show (a unit where none belongs, a reserved name, a bad escape or
    condition) are appended to ``diagnostics``; a placeholder node keeps the walk going."""

    def __init__(self, file: str) -> None:
        super().__init__(visit_tokens=False)
        self.file = file
        self.diagnostics: list[Diagnostic] = []
        self.nesting: dict[int, int] = {}  # id of a list, dict or type -> its levels of brackets

    # -- helpers --

    def _split(self, children: list[Any]) -> tuple[Span, list[Any]]:
        """The rule's span, and the children that carry meaning (keywords and punctuation are
        kept in the tree only so that spans start at the keyword and end at the bracket)."""
        span = self.span_of(children)
        return span, [c for c in children if not isinstance(c, Token) or c.type in _VALUE_TOKENS]

    def span_of(self, children: list[Any]) -> Span:
        """From the first child's start to the last one's end (keywords and brackets are kept
        in the tree for this, then dropped before the method sees its children)."""
        if not children:
            return Span(self.file, 1, 1, 1, 1)
        first, last = children[0], children[-1]
        if isinstance(first, Token):
            line, col = first.line, first.column
        else:
            line, col = first.span.line, first.span.col
        if isinstance(last, Token):
            return Span(self.file, line, col, last.end_line, last.end_column)
        return Span(self.file, line, col, last.span.end_line, last.span.end_col)

    def _name(self, token: Token) -> ast.Name:
        return ast.Name(token.value, _token_span(token, self.file))

    def _error(self, code: str, message: str, span: Span, hint: str = "") -> None:
        self.diagnostics.append(diagnostic(code, message, span, hint))

    def _nested(self, node: _Nested, inner: Iterable[Any]) -> _Nested:
        """``node``, a list, dict or type holding ``inner``, with its nesting remembered: past
        ``MAX_DEPTH`` levels it is an error (F108, once, at the level that goes past), since
        everything that walks values and types afterwards does so recursively."""
        nesting = self.nesting
        depth = 1 + max([nesting.get(id(item), 0) for item in inner], default=0)
        nesting[id(node)] = depth
        if depth == MAX_DEPTH + 1:
            self._error(F_SHAPE, _TOO_DEEP, node.span, _TOO_DEEP_HINT)
        return node

    def _declared(self, token: Token, what: str) -> ast.Name:
        """A name that declares an action, graph, map or import: not a reserved word."""
        name = self._name(token)
        if token.value in RESERVED_NAMES:
            self._error(
                F_NAME,
                f"`{token.value}` is a keyword and cannot name {what}",
                name.span,
                f"choose another name, e.g. `{token.value}_step`",
            )
        elif unicodedata.normalize("NFKC", token.value) != token.value:
            self._error(
                F_NAME,
                f"the name `{token.value}` changes under Unicode normalisation",
                name.span,
                f"write it as `{unicodedata.normalize('NFKC', token.value)}`",
            )
        return name

    def _number(self, token: Token) -> tuple[int | float, str]:
        match = _NUMBER.fullmatch(token.value)
        assert match is not None  # the NUMBER terminal only matches this shape
        digits = match["digits"].replace("_", "")
        is_float = any(c in digits for c in ".eE")
        try:
            amount: int | float = float(digits) if is_float else int(digits)
        except ValueError:  # more digits than int() will read (sys.get_int_max_str_digits)
            self._error(
                F_VALUE,
                f"a number of {len(digits)} digits is longer than flowc reads",
                _token_span(token, self.file),
                "keep numbers short; build big values in an action",
            )
            return 0, match["unit"]
        if match["sign"] == "-":
            amount = -amount
        return amount, match["unit"]

    def _plain(self, token: Token, what: str) -> int | float:
        amount, unit = self._number(token)
        if unit:
            self._error(
                F_VALUE,
                f"`{token.value}` has a unit, but {what} is a plain number",
                _token_span(token, self.file),
                f"write {token.value[: len(token.value) - len(unit)]}",
            )
        return amount

    def _count(self, token: Token, what: str, minimum: int) -> int:
        amount = self._plain(token, what)
        if not isinstance(amount, int) or amount < minimum:
            self._error(
                F_VALUE,
                f"{what} must be a whole number of at least {minimum}, not {token.value}",
                _token_span(token, self.file),
            )
            return minimum
        return amount

    def _duration(self, token: Token, what: str) -> ast.Duration:
        amount, unit = self._number(token)
        span = _token_span(token, self.file)
        if unit in ast.DURATION_UNITS and not ast.waitable(amount, unit):
            message = f"{what} of {token.value} is longer than flowc can wait"
            self._error(F_VALUE, message, span, "write a duration such as 30s, 2m or 1h")
            return ast.Duration(0, "s", span)
        if unit not in ast.DURATION_UNITS or amount < 0:
            written = f"`{token.value}`"
            problem = "is negative" if amount < 0 else "has no unit" if not unit else "has unit"
            self._error(
                F_VALUE,
                f"{what} must be a duration; {written} {problem}"
                + (f" `{unit}`" if unit and unit not in ast.DURATION_UNITS else ""),
                span,
                "write a duration such as 250ms, 0.5s, 30s, 2m or 1h",
            )
            return ast.Duration(0, "s", span)
        return ast.Duration(amount, unit, span)

    def _percent_or(self, token: Token, what: str) -> ast.Percent | None:
        amount, unit = self._number(token)
        if unit != "%":
            return None
        span = _token_span(token, self.file)
        if not 0 <= amount <= 100:
            self._error(F_VALUE, f"{what} must be between 0% and 100%, not {token.value}", span)
        return ast.Percent(amount, span)

    def _string_value(self, token: Token) -> str:
        text = token.value
        if "\\" not in text:
            return text[1:-1]
        try:
            node = parse_expression(text)
        except ExpressionSyntaxError:
            try:
                parse_expression(text, span=_token_span(token, self.file))
            except ExpressionSyntaxError as positioned:
                self.diagnostics.extend(positioned.diagnostics)
            return ""
        assert isinstance(node, Literal)
        return node.value

    # -- module and statements --

    def module(self, children: list[Any]) -> ast.Module:
        # Every child is a statement (the grammar keeps no token here): nothing to split off.
        return ast.Module(tuple(children), (), self.span_of(children))

    def flow_header(self, children: list[Any]) -> ast.FlowHeader:
        span, children = self._split(children)
        return ast.FlowHeader(self._name(children[0]), span)

    def import_from(self, children: list[Any]) -> ast.ImportFrom:
        span, children = self._split(children)
        return ast.ImportFrom(children[0], tuple(children[1:]), span)

    def module_path(self, children: list[Any]) -> ast.ModulePath:
        span, children = self._split(children)
        return ast.ModulePath(".".join(t.value for t in children), span)

    def flow_path(self, children: list[Any]) -> ast.FlowPath:
        span, children = self._split(children)
        return ast.FlowPath(self._string_value(children[0]), span)

    def import_name(self, children: list[Any]) -> ast.ImportName:
        span, children = self._split(children)
        name = self._name(children[0])
        alias = self._declared(children[1], "an import") if len(children) > 1 else None
        if alias is None and children[0].value in RESERVED_NAMES:
            self._declared(children[0], "an import")
        return ast.ImportName(name, alias, span)

    def state_block(self, children: list[Any]) -> ast.StateBlock:
        span, children = self._split(children)
        return ast.StateBlock(tuple(children), span)

    def state_field(self, children: list[Any]) -> ast.StateField:
        span, children = self._split(children)
        default = children[2] if len(children) > 2 else None
        return ast.StateField(self._name(children[0]), children[1], default, span)

    def type_ref(self, children: list[Any]) -> ast.TypeRef:
        span, children = self._split(children)
        ref = ast.TypeRef(self._name(children[0]), tuple(children[1:]), span)
        return self._nested(ref, ref.args) if ref.args else ref

    def action_decl(self, children: list[Any]) -> ast.ActionDecl:
        span, children = self._split(children)
        name = self._declared(children[0], "an action")
        target: ast.CallableRef = children[1]
        args = tuple(c for c in children[2:] if isinstance(c, ast.Argument))
        clauses: dict[str, tuple[ast.Name, ...]] = {}
        for clause, names, clause_span in (c for c in children[2:] if isinstance(c, _Group)):
            if clause in clauses:
                self._error(
                    F_SHAPE,
                    f"action `{name}` has a second `{clause}` clause",
                    clause_span,
                    f"list every key in one clause: `{clause} a, b`",
                )
            clauses[clause] = clauses.get(clause, ()) + names
        return ast.ActionDecl(
            name,
            target,
            args,
            clauses.get("reads", ()),
            clauses.get("writes", ()),
            clauses.get("inputs", ()),
            span,
        )

    def _clause(self, kind: str, span: Span, children: list[Token]) -> _Group:
        return _Group(kind, tuple(self._name(t) for t in children), span)

    def reads_clause(self, children: list[Any]) -> _Group:
        span, children = self._split(children)
        return self._clause("reads", span, children)

    def writes_clause(self, children: list[Any]) -> _Group:
        span, children = self._split(children)
        return self._clause("writes", span, children)

    def inputs_clause(self, children: list[Any]) -> _Group:
        span, children = self._split(children)
        return self._clause("inputs", span, children)

    def callable_ref(self, children: list[Any]) -> ast.CallableRef:
        span = self.span_of(children)
        names = [t for t in children if t.type == "NAME"]
        has_module = any(t.type == "COLON" for t in children)
        if has_module:
            return ast.CallableRef(names[-1].value, ".".join(t.value for t in names[:-1]), span)
        if len(names) > 1:
            dotted = ".".join(t.value for t in names)
            module, _, function = dotted.rpartition(".")
            self._error(
                F_SHAPE,
                f"`{dotted}` is a dotted name; a callable is `name` or `module:function`",
                span,
                f"write `{module}:{function}`",
            )
        return ast.CallableRef(names[0].value, None, span)

    def argument(self, children: list[Any]) -> ast.Argument:
        span, children = self._split(children)
        return ast.Argument(self._name(children[0]), children[1], span)

    def graph_decl(self, children: list[Any]) -> ast.GraphDecl:
        span, children = self._split(children)
        name = self._declared(children[0], "a graph")
        return ast.GraphDecl(name, tuple(children[1:]), span)

    def transition(self, children: list[Any]) -> ast.Transition:
        span, children = self._split(children)
        path = tuple(c for c in children if isinstance(c, ast.Endpoint))
        condition = None
        if children and isinstance(children[-1], Token):
            condition = self._condition(children[-1])
            if len(path) > 2:
                self._error(
                    F_SHAPE,
                    "a condition cannot follow a chain of arrows",
                    condition.span,
                    "write the conditional arrow on its own line: `a -> b when …`",
                )
        for index, endpoint in enumerate(path):
            if endpoint.is_start and index > 0:
                self._error(
                    F_SHAPE,
                    "`start` can only be the first name of a transition",
                    endpoint.span,
                    "`start -> x` marks `x` as the entry",
                )
            if endpoint.is_end and index < len(path) - 1:
                self._error(
                    F_SHAPE,
                    "`end` can only be the last name of a transition",
                    endpoint.span,
                    "`x -> end` marks `x` as a halting action",
                )
        return ast.Transition(path, condition, span)

    def _condition(self, token: Token) -> ast.Condition:
        return self.condition(token.value, token.line, token.column)

    def condition(self, written: str, line: int, column: int) -> ast.Condition:
        """The condition written at ``line``:``column`` (trailing spaces are not part of it)."""
        text = written.rstrip()
        span = _new_span(Span, (self.file, line, column, line, column + len(text)))
        try:
            expression = parse_expression(text, span=span)
        except ExpressionSyntaxError as error:
            self.diagnostics.extend(error.diagnostics)
            expression = parse_expression("True")
        return _Condition(expression, text, span)

    def endpoint(self, children: list[Any]) -> ast.Endpoint:
        span = self.span_of(children)
        return ast.Endpoint(children[0].value, span)

    # -- maps --

    def map_decl(self, children: list[Any]) -> ast.MapDecl:
        span, children = self._split(children)
        name = self._declared(children[0], "a map")
        shape = children[1]
        items = next((c for c in children[2:] if isinstance(c, ast.ForClause)), None)
        body = next((c.items for c in children[2:] if isinstance(c, _Group)), ())
        if isinstance(shape, ast.Branch):
            branches: tuple[ast.Branch, ...] = (shape,)
            kind = ast.MapKind.STATES
            if items is None:
                self._error(
                    F_SHAPE,
                    f"map `{name}` runs one branch but has no `for … in …`",
                    span,
                    f"map over items: `map {name} = {shape.name} for x in xs`, or list "
                    f"several branches: `map {name} = [{shape.name}, other]`",
                )
        else:
            branches = shape.items
            kind = ast.MapKind.PRODUCT if items else ast.MapKind.ACTIONS
        options = tuple(c for c in body if not isinstance(c, ast.Reduce))
        reduces = tuple(c for c in body if isinstance(c, ast.Reduce))
        seen: dict[type, Any] = {}
        for option in options:
            if type(option) in seen:
                keyword = _OPTION_KEYWORDS[type(option)]
                self._error(
                    F_SHAPE,
                    f"map `{name}` sets `{keyword}` twice",
                    option.span,
                    "keep one of them",
                )
            seen[type(option)] = option
        return ast.MapDecl(name, kind, branches, items, options, reduces, span)

    def branch_list(self, children: list[Any]) -> _Group:
        span, children = self._split(children)
        return _Group("branches", tuple(children), span)

    def branch(self, children: list[Any]) -> ast.Branch:
        span, children = self._split(children)
        args = tuple(c for c in children[1:] if isinstance(c, ast.Argument))
        alias_tokens = [c for c in children[1:] if isinstance(c, Token)]
        alias = self._declared(alias_tokens[0], "a branch") if alias_tokens else None
        return ast.Branch(children[0], args, alias, span)

    def for_clause(self, children: list[Any]) -> ast.ForClause:
        span, children = self._split(children)
        return ast.ForClause(self._name(children[0]), children[1], span)

    def state_items(self, children: list[Any]) -> ast.StateItems:
        span, children = self._split(children)
        return ast.StateItems(self._name(children[0]), span)

    def input_items(self, children: list[Any]) -> ast.InputItems:
        span, children = self._split(children)
        return ast.InputItems(self._name(children[0]), span)

    def literal_items(self, children: list[Any]) -> ast.LiteralItems:
        span, children = self._split(children)
        return ast.LiteralItems(children[0], span)

    def range_items(self, children: list[Any]) -> ast.RangeItems:
        span, children = self._split(children)
        values = []
        for token in children:
            value = self._plain(token, "a range bound")
            if not isinstance(value, int):
                self._error(
                    F_VALUE,
                    f"range bounds are whole numbers, not {token.value}",
                    _token_span(token, self.file),
                )
                value = 0
            values.append(value)
        if len(values) == 1:
            return ast.RangeItems(0, values[0], 1, span)
        if len(values) == 3 and values[2] == 0:
            self._error(F_VALUE, "a range step cannot be 0", _token_span(children[2], self.file))
            values[2] = 1
        return ast.RangeItems(*values, span=span)  # type: ignore[misc]

    def map_body(self, children: list[Any]) -> _Group:
        span, children = self._split(children)
        return _Group("body", tuple(children), span)

    def max_concurrency(self, children: list[Any]) -> ast.MaxConcurrency:
        span, children = self._split(children)
        value = self._count(children[0], "max_concurrency", 1)
        return ast.MaxConcurrency(value, span)

    def executor(self, children: list[Any]) -> ast.Executor:
        span, children = self._split(children)
        arg = None
        if len(children) > 1:
            token = children[1]
            if token.type == "STRING":
                arg = ast.String(self._string_value(token), _token_span(token, self.file))
            else:
                arg = ast.Number(self._count(token, "the executor's size", 1))
                arg = ast.Number(arg.value, _token_span(token, self.file))
        return ast.Executor(children[0], arg, span)

    def tolerate(self, children: list[Any]) -> ast.Tolerate:
        span, children = self._split(children)
        limit: int | ast.Percent | None = self._percent_or(children[0], "tolerate")
        if limit is None:
            limit = self._count(children[0], "tolerate", 0)
        return ast.Tolerate(limit, span)

    def retry(self, children: list[Any]) -> ast.Retry:
        span = self.span_of(children)
        attempts = self._count(children[1], "retry", 0)
        backoff = jitter = None
        rest = iter(children[2:])
        for keyword in rest:
            value = next(rest)
            if keyword.value == "backoff":
                backoff = self._duration(value, "backoff")
            else:
                jitter = self._percent_or(value, "jitter") or self._duration(value, "jitter")
        return ast.Retry(attempts, backoff, jitter, span)

    def timeout(self, children: list[Any]) -> ast.Timeout:
        span, children = self._split(children)
        return ast.Timeout(self._duration(children[0], "timeout"), span)

    def first_k(self, children: list[Any]) -> ast.FirstK:
        span, children = self._split(children)
        return ast.FirstK(self._count(children[0], "first", 1), span)

    def task_key(self, children: list[Any]) -> ast.TaskKey:
        span, children = self._split(children)
        ref: ast.CallableRef = children[0]
        key: ast.FieldPath | ast.CallableRef = ref
        if ref.module is None:
            key = ast.FieldPath((ref.name,), ref.span)
        return ast.TaskKey(key, span)

    def tracker(self, children: list[Any]) -> ast.Tracker:
        span, children = self._split(children)
        return ast.Tracker(children[0].value, span)

    def persister(self, children: list[Any]) -> ast.Persister:
        span, children = self._split(children)
        return ast.Persister(children[0].value, span)

    def reduce(self, children: list[Any]) -> ast.Reduce:
        span, children = self._split(children)
        targets = tuple(self._name(t) for t in children if isinstance(t, Token))
        reducer = next(c for c in children if isinstance(c, ast.CallableRef))
        args = next((c.items for c in children if isinstance(c, _Group)), None)
        node = ast.Reduce(targets, reducer, args, span)
        if node.builtin:
            self._check_builtin_reducer(node)
        return node

    def _check_builtin_reducer(self, node: ast.Reduce) -> None:
        name = node.reducer.name
        args = node.args or ()
        expected = _BUILTIN_ARITY[name]
        if len(node.targets) != 1:
            self._error(
                F_SHAPE,
                f"the built-in reducer `{name}` writes one key, not {len(node.targets)}",
                node.span,
                "write one `reduce` line per key",
            )
        if not expected[0] <= len(args) <= expected[1] or (node.args is None and expected[0]):
            self._error(
                F_SHAPE,
                f"`{name}` takes {_BUILTIN_USAGE[name]}",
                node.reducer.span,
                f"for example: `reduce {node.targets[0]} = {_BUILTIN_EXAMPLE[name]}`",
            )
        for arg in args:
            if not isinstance(arg.value, ast.FieldPath):
                self._error(
                    F_SHAPE,
                    f"`{name}` takes field names of the branch states, not literal values",
                    arg.span,
                )
            if arg.name is not None and name != "records":
                self._error(
                    F_SHAPE,
                    f"only `records` takes named fields; `{name}` takes plain field names",
                    arg.span,
                )

    def reducer_args(self, children: list[Any]) -> _Group:
        span, children = self._split(children)
        return _Group("args", tuple(children), span)

    def reducer_arg(self, children: list[Any]) -> ast.ReducerArg:
        span, children = self._split(children)
        if len(children) == 2:
            return ast.ReducerArg(children[1], self._name(children[0]), span)
        return ast.ReducerArg(children[0], None, span)

    def field_path(self, children: list[Any]) -> ast.FieldPath:
        span, children = self._split(children)
        return ast.FieldPath(tuple(t.value for t in children), span)

    # -- literal values --

    def string(self, children: list[Any]) -> ast.String:
        span, children = self._split(children)
        return ast.String(self._string_value(children[0]), span)

    def number(self, children: list[Any]) -> ast.Number:
        span, children = self._split(children)
        return ast.Number(self._plain(children[0], "a value"), span)

    def constant(self, children: list[Any]) -> ast.Constant:
        span = self.span_of(children)
        value = ast.CONSTANT_WORDS[children[0].value]
        return ast.Constant(value, span)

    def list_literal(self, children: list[Any]) -> ast.ListLiteral:
        span, children = self._split(children)
        return self._nested(ast.ListLiteral(tuple(children), span), children)

    def dict_literal(self, children: list[Any]) -> ast.DictLiteral:
        span, children = self._split(children)
        literal = ast.DictLiteral(tuple(children), span)
        return self._nested(literal, [entry.value for entry in literal.entries])

    def dict_entry(self, children: list[Any]) -> ast.DictEntry:
        span, children = self._split(children)
        return ast.DictEntry(children[0], children[1], span)


_OPTION_KEYWORDS: dict[type, str] = {
    ast.MaxConcurrency: "max_concurrency",
    ast.Executor: "executor",
    ast.Tolerate: "tolerate",
    ast.Retry: "retry",
    ast.Timeout: "timeout",
    ast.FirstK: "first",
    ast.TaskKey: "key",
    ast.Tracker: "tracker",
    ast.Persister: "persister",
}
_ONE_FIELD = (1, 1)
_BUILTIN_ARITY = ast.BUILTIN_REDUCER_ARITY
_BUILTIN_USAGE = {
    name: "no arguments"
    if arity == (0, 0)
    else "one field name"
    if arity == _ONE_FIELD
    else "a key field and a value field"
    if name == "to_dict"
    else "one or more fields, each `name` or `alias=name`"
    for name, arity in _BUILTIN_ARITY.items()
}
_BUILTIN_EXAMPLE = {
    "collect": "collect(llm_output)",
    "records": "records(output=llm_output, prompt)",
    "to_dict": "to_dict(prompt, llm_output)",
    "sum": "sum(tokens)",
    "count": "count()",
    "min": "min(score)",
    "max": "max(score)",
    "concat": "concat(items)",
    "first": "first(answer)",
    "merge": "merge(partial)",
}
