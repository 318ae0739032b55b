"""Text → typed AST: ``parse(text, file)`` returns ``(Module | None, diagnostics)``.

The LALR parser (``flowc.grammar.get_parser``) builds a tree of tokens; ``AstBuilder`` turns it
into the frozen nodes of ``flowc.compiler.ast``. Syntax errors are recovered from and collected
(``flowc.compiler.syntax_errors``); the builder runs only on a tree that parsed cleanly, so no
half-built node is ever produced. Values the grammar leaves open (numbers with units, strings'
escapes, conditions) are checked by the builder, which reports through the same diagnostics.
"""

from __future__ import annotations

import gc
import re
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from lark import Token, Transformer, v_args
from lark.exceptions import UnexpectedInput

from flowc.compiler import ast
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
from flowc.runtime.expression import ExpressionSyntaxError, Literal, parse_expression

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
    if not isinstance(text, str):
        raise TypeError(f"parse() takes the source as str, not {type(text).__name__}")
    text, diagnostics = prepare_source(text, file)
    if diagnostics:
        return None, diagnostics
    with _collector_paused():
        collector = ErrorCollector(text, file)
        try:
            tree, comments = raw_parse(text, on_error=collector.on_error)
        except UnexpectedInput as error:
            collector.give_up(error)
            return None, collector.diagnostics
        if collector.diagnostics:
            return None, collector.diagnostics
        builder = AstBuilder(file)
        module = builder.transform(tree)
    if builder.diagnostics:
        return None, builder.diagnostics
    comment_nodes = tuple(
        ast.Comment(token.value.rstrip(), _token_span(token, file)) for token in comments
    )
    return ast.Module(module.statements, comment_nodes, module.span), []


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a parse allocates its (acyclic) trees: on a
    10,000-action file the collector's repeated full scans cost about a third of the time."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


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


@v_args(meta=True)
class AstBuilder(Transformer):
    """One method per kept grammar rule, named after it, returning the rule's AST node.

    Problems only the values show (a unit where none belongs, a reserved name, a bad escape or
    condition) are appended to ``diagnostics``; a placeholder node keeps the walk going."""

    def __init__(self, file: str) -> None:
        super().__init__(visit_tokens=False)
        self.file = file
        self.diagnostics: list[Diagnostic] = []

    # -- helpers --

    def _span(self, meta: Any) -> Span:
        if getattr(meta, "empty", True):
            return Span(self.file, 1, 1, 1, 1)
        return Span(
            self.file,
            meta.container_line,
            meta.container_column,
            meta.container_end_line,
            meta.container_end_column,
        )

    def _name(self, token: Token) -> ast.Name:
        return ast.Name(token.value, _token_span(token, self.file))

    def _error(self, code: str, message: str, span: Span, hint: str = "") -> None:
        self.diagnostics.append(diagnostic(code, message, span, hint))

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
        amount: int | float = float(digits) if is_float else int(digits)
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

    def module(self, meta: Any, children: list[Any]) -> ast.Module:
        return ast.Module(tuple(children), (), self._span(meta))

    def flow_header(self, meta: Any, children: list[Any]) -> ast.FlowHeader:
        return ast.FlowHeader(self._name(children[0]), self._span(meta))

    def import_from(self, meta: Any, children: list[Any]) -> ast.ImportFrom:
        return ast.ImportFrom(children[0], tuple(children[1:]), self._span(meta))

    def module_path(self, meta: Any, children: list[Token]) -> ast.ModulePath:
        return ast.ModulePath(".".join(t.value for t in children), self._span(meta))

    def flow_path(self, meta: Any, children: list[Token]) -> ast.FlowPath:
        return ast.FlowPath(self._string_value(children[0]), self._span(meta))

    def import_name(self, meta: Any, children: list[Token]) -> ast.ImportName:
        name = self._name(children[0])
        alias = self._declared(children[1], "an import") if len(children) > 1 else None
        if alias is None and children[0].value in RESERVED_NAMES:
            self._declared(children[0], "an import")
        return ast.ImportName(name, alias, self._span(meta))

    def state_block(self, meta: Any, children: list[Any]) -> ast.StateBlock:
        return ast.StateBlock(tuple(children), self._span(meta))

    def state_field(self, meta: Any, children: list[Any]) -> ast.StateField:
        default = children[2] if len(children) > 2 else None
        return ast.StateField(self._name(children[0]), children[1], default, self._span(meta))

    def type_ref(self, meta: Any, children: list[Any]) -> ast.TypeRef:
        return ast.TypeRef(self._name(children[0]), tuple(children[1:]), self._span(meta))

    def action_decl(self, meta: Any, children: list[Any]) -> ast.ActionDecl:
        name = self._declared(children[0], "an action")
        target: ast.CallableRef = children[1]
        args = tuple(c for c in children[2:] if isinstance(c, ast.Argument))
        clauses: dict[str, tuple[ast.Name, ...]] = {}
        for clause, names, span in (c for c in children[2:] if isinstance(c, tuple)):
            if clause in clauses:
                self._error(
                    F_SHAPE,
                    f"action `{name}` has a second `{clause}` clause",
                    span,
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
            self._span(meta),
        )

    def _clause(self, kind: str, meta: Any, children: list[Token]) -> tuple[Any, ...]:
        return (kind, tuple(self._name(t) for t in children), self._span(meta))

    def reads_clause(self, meta: Any, children: list[Token]) -> tuple[Any, ...]:
        return self._clause("reads", meta, children)

    def writes_clause(self, meta: Any, children: list[Token]) -> tuple[Any, ...]:
        return self._clause("writes", meta, children)

    def inputs_clause(self, meta: Any, children: list[Token]) -> tuple[Any, ...]:
        return self._clause("inputs", meta, children)

    def callable_ref(self, meta: Any, children: list[Token]) -> ast.CallableRef:
        names = [t for t in children if t.type == "NAME"]
        has_module = any(t.type == "COLON" for t in children)
        span = self._span(meta)
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

    def argument(self, meta: Any, children: list[Any]) -> ast.Argument:
        return ast.Argument(self._name(children[0]), children[1], self._span(meta))

    def graph_decl(self, meta: Any, children: list[Any]) -> ast.GraphDecl:
        name = self._declared(children[0], "a graph")
        return ast.GraphDecl(name, tuple(children[1:]), self._span(meta))

    def transition(self, meta: Any, children: list[Any]) -> ast.Transition:
        path = tuple(c for c in children if isinstance(c, ast.Endpoint))
        span = self._span(meta)
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
        text = token.value.rstrip()
        span = Span(self.file, token.line, token.column, token.line, token.column + len(text))
        try:
            expression = parse_expression(text, span=span)
        except ExpressionSyntaxError as error:
            self.diagnostics.extend(error.diagnostics)
            expression = parse_expression("True")
        return ast.Condition(expression, text, span)

    def endpoint(self, meta: Any, children: list[Token]) -> ast.Endpoint:
        return ast.Endpoint(children[0].value, self._span(meta))

    # -- maps --

    def map_decl(self, meta: Any, children: list[Any]) -> ast.MapDecl:
        name = self._declared(children[0], "a map")
        span = self._span(meta)
        shape = children[1]
        items = next((c for c in children[2:] if isinstance(c, ast.ForClause)), None)
        body: list[Any] = next((c for c in children[2:] if isinstance(c, list)), [])
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
            branches = tuple(shape)
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

    def branch_list(self, meta: Any, children: list[ast.Branch]) -> list[ast.Branch]:
        return list(children)

    def branch(self, meta: Any, children: list[Any]) -> ast.Branch:
        args = tuple(c for c in children[1:] if isinstance(c, ast.Argument))
        alias_tokens = [c for c in children[1:] if isinstance(c, Token)]
        alias = self._declared(alias_tokens[0], "a branch") if alias_tokens else None
        return ast.Branch(children[0], args, alias, self._span(meta))

    def for_clause(self, meta: Any, children: list[Any]) -> ast.ForClause:
        return ast.ForClause(self._name(children[0]), children[1], self._span(meta))

    def state_items(self, meta: Any, children: list[Token]) -> ast.StateItems:
        return ast.StateItems(self._name(children[0]), self._span(meta))

    def input_items(self, meta: Any, children: list[Token]) -> ast.InputItems:
        return ast.InputItems(self._name(children[0]), self._span(meta))

    def literal_items(self, meta: Any, children: list[Any]) -> ast.LiteralItems:
        return ast.LiteralItems(children[0], self._span(meta))

    def range_items(self, meta: Any, children: list[Token]) -> ast.RangeItems:
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
        span = self._span(meta)
        if len(values) == 1:
            return ast.RangeItems(0, values[0], 1, span)
        if len(values) == 3 and values[2] == 0:
            self._error(F_VALUE, "a range step cannot be 0", _token_span(children[2], self.file))
            values[2] = 1
        return ast.RangeItems(*values, span=span)  # type: ignore[misc]

    def map_body(self, meta: Any, children: list[Any]) -> list[Any]:
        return list(children)

    def max_concurrency(self, meta: Any, children: list[Token]) -> ast.MaxConcurrency:
        value = self._count(children[0], "max_concurrency", 1)
        return ast.MaxConcurrency(value, self._span(meta))

    def executor(self, meta: Any, children: list[Any]) -> ast.Executor:
        arg = None
        if len(children) > 1:
            token = children[1]
            if token.type == "STRING":
                arg = ast.String(self._string_value(token), _token_span(token, self.file))
            else:
                arg = ast.Number(self._count(token, "the executor's size", 1))
                arg = ast.Number(arg.value, _token_span(token, self.file))
        return ast.Executor(children[0], arg, self._span(meta))

    def tolerate(self, meta: Any, children: list[Token]) -> ast.Tolerate:
        limit: int | ast.Percent | None = self._percent_or(children[0], "tolerate")
        if limit is None:
            limit = self._count(children[0], "tolerate", 0)
        return ast.Tolerate(limit, self._span(meta))

    def retry(self, meta: Any, children: list[Token]) -> ast.Retry:
        attempts = self._count(children[1], "retry", 0)
        backoff = jitter = None
        rest = iter(children[2:])
        for keyword in rest:
            value = next(rest)
            if keyword.value == "backoff":
                backoff = self._duration(value, "backoff")
            else:
                jitter = self._percent_or(value, "jitter") or self._duration(value, "jitter")
        return ast.Retry(attempts, backoff, jitter, self._span(meta))

    def timeout(self, meta: Any, children: list[Token]) -> ast.Timeout:
        return ast.Timeout(self._duration(children[0], "timeout"), self._span(meta))

    def first_k(self, meta: Any, children: list[Token]) -> ast.FirstK:
        return ast.FirstK(self._count(children[0], "first", 1), self._span(meta))

    def task_key(self, meta: Any, children: list[Any]) -> ast.TaskKey:
        ref: ast.CallableRef = children[0]
        key: ast.FieldPath | ast.CallableRef = ref
        if ref.module is None:
            key = ast.FieldPath((ref.name,), ref.span)
        return ast.TaskKey(key, self._span(meta))

    def tracker(self, meta: Any, children: list[Token]) -> ast.Tracker:
        return ast.Tracker(children[0].value, self._span(meta))

    def persister(self, meta: Any, children: list[Token]) -> ast.Persister:
        return ast.Persister(children[0].value, self._span(meta))

    def reduce(self, meta: Any, children: list[Any]) -> ast.Reduce:
        targets = tuple(self._name(t) for t in children if isinstance(t, Token))
        reducer = next(c for c in children if isinstance(c, ast.CallableRef))
        args = next((c for c in children if isinstance(c, tuple)), None)
        node = ast.Reduce(targets, reducer, args, self._span(meta))
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

    def reducer_args(self, meta: Any, children: list[ast.ReducerArg]) -> tuple[ast.ReducerArg, ...]:
        return tuple(children)

    def reducer_arg(self, meta: Any, children: list[Any]) -> ast.ReducerArg:
        if len(children) == 2:
            return ast.ReducerArg(children[1], self._name(children[0]), self._span(meta))
        return ast.ReducerArg(children[0], None, self._span(meta))

    def field_path(self, meta: Any, children: list[Token]) -> ast.FieldPath:
        return ast.FieldPath(tuple(t.value for t in children), self._span(meta))

    # -- literal values --

    def string(self, meta: Any, children: list[Token]) -> ast.String:
        return ast.String(self._string_value(children[0]), self._span(meta))

    def number(self, meta: Any, children: list[Token]) -> ast.Number:
        return ast.Number(self._plain(children[0], "a value"), self._span(meta))

    def constant(self, meta: Any, children: list[Token]) -> ast.Constant:
        value = {"true": True, "false": False, "none": None}[children[0].value.lower()]
        return ast.Constant(value, self._span(meta))

    def list_literal(self, meta: Any, children: list[Any]) -> ast.ListLiteral:
        return ast.ListLiteral(tuple(children), self._span(meta))

    def dict_literal(self, meta: Any, children: list[Any]) -> ast.DictLiteral:
        return ast.DictLiteral(tuple(children), self._span(meta))

    def dict_entry(self, meta: Any, children: list[Any]) -> ast.DictEntry:
        return ast.DictEntry(children[0], children[1], self._span(meta))


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
_BUILTIN_ARITY: dict[str, tuple[int, int]] = {
    "collect": _ONE_FIELD,
    "records": (1, 64),
    "to_dict": (2, 2),
    "sum": _ONE_FIELD,
    "count": (0, 0),
    "min": _ONE_FIELD,
    "max": _ONE_FIELD,
    "concat": _ONE_FIELD,
    "first": _ONE_FIELD,
    "merge": _ONE_FIELD,
}
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
