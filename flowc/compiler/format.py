"""AST → canonical .flow text: ``format_module(module)``, the printer behind ``flowc fmt``.

One method per node kind. The output is idempotent and means the same as the input
(``parse(format_module(m)) == m``). Layout rules: two-space indentation, one statement per line,
at most one blank line kept where the source had blank lines, values and conditions in the
condition language's canonical spelling (double-quoted strings, ``True``/``False``/``None``),
and lines over ``LINE_LENGTH`` broken at action clauses and branch lists. Comments come back in
their order: a comment on its own line before the next statement, a trailing comment at the end
of the statement's line, comments left in a block before its ``}``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from flowc.compiler import ast
from flowc.runtime.expression import Literal, to_source

INDENT = "  "
LINE_LENGTH = 100


def format_module(module: ast.Module) -> str:
    """The canonical text of ``module`` (ending with one newline, or empty)."""
    printer = _Printer(list(module.comments))
    printer.block(module.statements, 0, end_line=None)
    text = "\n".join(printer.lines).strip("\n")
    return text + "\n" if text else ""


# ---- values ------------------------------------------------------------------------------------


def format_value(value: ast.Value) -> str:
    match value:
        case ast.ListLiteral(items=items):
            return "[" + ", ".join(map(format_value, items)) + "]"
        case ast.DictLiteral(entries=entries):
            pairs = (f"{format_value(e.key)}: {format_value(e.value)}" for e in entries)
            return "{" + ", ".join(pairs) + "}"
        case _:
            return to_source(Literal(value.to_python()))


def format_amount(amount: int | float) -> str:
    return to_source(Literal(amount))


def format_duration(duration: ast.Duration) -> str:
    return f"{format_amount(duration.amount)}{duration.unit}"


def format_percent(percent: ast.Percent) -> str:
    return f"{format_amount(percent.amount)}%"


def format_callable(ref: ast.CallableRef, args: Sequence[ast.Argument] = ()) -> str:
    text = ref.qualified
    if args:
        text += "(" + ", ".join(f"{a.name}={format_value(a.value)}" for a in args) + ")"
    return text


def format_type(type_ref: ast.TypeRef) -> str:
    return str(type_ref)


def format_branch(branch: ast.Branch) -> str:
    text = format_callable(branch.target, branch.args)
    return f"{text} as {branch.alias}" if branch.alias else text


def format_items(source: ast.ItemSource) -> str:
    match source:
        case ast.StateItems(key=key):
            return str(key)
        case ast.InputItems(input=name):
            return f"input {name}"
        case ast.LiteralItems(items=items):
            return format_value(items)
        case ast.RangeItems(start=start, stop=stop, step=step):
            if step != 1:
                return f"range({start}, {stop}, {step})"
            return f"range({stop})" if start == 0 else f"range({start}, {stop})"
    raise TypeError(f"not an item source: {source!r}")


def format_option(option: ast.MapOption | ast.Reduce) -> str:
    match option:
        case ast.MaxConcurrency(value=value):
            return f"max_concurrency {value}"
        case ast.Executor(target=target, arg=arg):
            return f"executor {target}" + (f" {format_value(arg)}" if arg is not None else "")
        case ast.Tolerate(limit=limit):
            shown = format_percent(limit) if isinstance(limit, ast.Percent) else str(limit)
            return f"tolerate {shown}"
        case ast.Retry(attempts=attempts, backoff=backoff, jitter=jitter):
            text = f"retry {attempts}"
            if backoff is not None:
                text += f" backoff {format_duration(backoff)}"
            if isinstance(jitter, ast.Percent):
                text += f" jitter {format_percent(jitter)}"
            elif jitter is not None:
                text += f" jitter {format_duration(jitter)}"
            return text
        case ast.Timeout(duration=duration):
            return f"timeout {format_duration(duration)}"
        case ast.FirstK(count=count):
            return f"first {count}"
        case ast.TaskKey(key=key):
            return f"key {key}"
        case ast.Tracker(mode=mode):
            return f"tracker {mode}"
        case ast.Persister(mode=mode):
            return f"persister {mode}"
        case ast.Reduce():
            return format_reduce(option)
    raise TypeError(f"not a map option: {option!r}")


def format_reduce(reduce: ast.Reduce) -> str:
    text = f"reduce {', '.join(map(str, reduce.targets))} = {reduce.reducer}"
    if reduce.args is not None:
        text += "(" + ", ".join(map(_format_reducer_arg, reduce.args)) + ")"
    return text


def _format_reducer_arg(arg: ast.ReducerArg) -> str:
    value = arg.value
    shown = str(value) if isinstance(value, ast.FieldPath) else format_value(value)
    return f"{arg.name}={shown}" if arg.name else shown


def format_transition(transition: ast.Transition) -> str:
    text = " -> ".join(endpoint.name for endpoint in transition.path)
    if transition.condition is not None:
        text += f" when {to_source(transition.condition.expression)}"
    return text


# ---- statements and comments -------------------------------------------------------------------


_Printed = tuple[list[str], Callable[[], None] | None]  # header lines, body printer


@dataclass(slots=True)
class _Printer:
    comments: list[ast.Comment]
    lines: list[str] = field(default_factory=list)
    last_line: int = 0  # source line of the last thing printed
    opened: bool = False  # a block's `{` was just printed

    def block(self, statements: Sequence[ast.Statement], depth: int, end_line: int | None) -> None:
        """Print ``statements`` at ``depth``, then the comments before ``end_line`` (the block's
        closing line; ``None`` at the end of the file)."""
        indent = INDENT * depth
        for statement in statements:
            self._comments_before(statement.span.line, indent)
            self._blank_if_gap(statement.span.line)
            lines, body = self._statement(statement, depth)
            self.lines.append(indent + lines[0])
            self.last_line = statement.span.line
            self._trailing_comment(statement.span.line)
            self.lines.extend(indent + line for line in lines[1:])
            if body is not None:
                body()
            self.last_line = statement.span.end_line or statement.span.line
            self._trailing_comment(self.last_line)
        self._comments_before(end_line, indent)

    def _blank_if_gap(self, line: int) -> None:
        """Keep one blank line where the source had some (never right after a block opens)."""
        if self.opened:
            self.opened = False
            return
        if self.lines and self.lines[-1] != "" and line > self.last_line + 1 and self.last_line:
            self.lines.append("")

    def _comments_before(self, line: int | None, indent: str) -> None:
        while self.comments and (line is None or self.comments[0].span.line < line):
            comment = self.comments.pop(0)
            self._blank_if_gap(comment.span.line)
            self.opened = False
            self.lines.append(indent + comment.text)
            self.last_line = comment.span.line

    def _trailing_comment(self, line: int) -> None:
        if self.comments and self.comments[0].span.line == line and self.lines:
            self.lines[-1] += "  " + self.comments.pop(0).text

    def _statement(self, statement: ast.Statement, depth: int) -> _Printed:
        match statement:
            case ast.FlowHeader(name=name):
                return [f"flow {name}"], None
            case ast.ImportFrom(source=source, names=names):
                where = (
                    to_source(Literal(source.path))
                    if isinstance(source, ast.FlowPath)
                    else source.dotted
                )
                listed = ", ".join(
                    f"{n.name} as {n.alias}" if n.alias else str(n.name) for n in names
                )
                return [f"from {where} import {listed}"], None
            case ast.StateBlock(fields=fields):
                return self._braced("state", fields, depth, statement.span, self._field)
            case ast.ActionDecl():
                return self._action(statement, depth)
            case ast.GraphDecl(name=name, body=body):
                return self._nested(f"graph {name}", body, depth, statement.span)
            case ast.MapDecl():
                return self._map(statement, depth)
            case ast.Transition():
                return [format_transition(statement)], None
        raise TypeError(f"not a statement: {statement!r}")

    def _field(self, item: ast.StateField) -> str:
        text = f"{item.name}: {format_type(item.type)}"
        return text + (f" = {format_value(item.default)}" if item.default is not None else "")

    def _braced(
        self,
        header: str,
        items: Sequence[object],
        depth: int,
        span: ast.Span,
        show: Callable[[object], str],
    ) -> _Printed:
        """``header {`` + one line per item + ``}``, with the comments between the items."""
        if not items and not self._has_comment_inside(span):
            return [f"{header} {{}}"], None
        inner = INDENT * (depth + 1)

        def body() -> None:
            self.opened = True
            for item in items:
                item_span = item.span  # type: ignore[attr-defined]
                self._comments_before(item_span.line, inner)
                self._blank_if_gap(item_span.line)
                self.lines.append(inner + show(item))
                self.last_line = item_span.end_line or item_span.line
                self._trailing_comment(self.last_line)
            self._comments_before(span.end_line, inner)
            self.lines.append(INDENT * depth + "}")

        return [f"{header} {{"], body

    def _nested(
        self, header: str, body: Sequence[ast.Statement], depth: int, span: ast.Span
    ) -> _Printed:
        if not body and not self._has_comment_inside(span):
            return [f"{header} {{}}"], None

        def print_body() -> None:
            self.opened = True
            self.block(body, depth + 1, span.end_line)
            self.lines.append(INDENT * depth + "}")

        return [f"{header} {{"], print_body

    def _has_comment_inside(self, span: ast.Span) -> bool:
        end = span.end_line or span.line
        return any(span.line < c.span.line < end for c in self.comments)

    def _action(self, action: ast.ActionDecl, depth: int) -> _Printed:
        head = f"action {action.name} = {format_callable(action.target, action.args)}"
        clauses = [
            f"{keyword} {', '.join(map(str, names))}"
            for keyword, names in (
                ("reads", action.reads),
                ("writes", action.writes),
                ("inputs", action.inputs),
            )
            if names
        ]
        one_line = " ".join([head, *clauses])
        if len(INDENT * depth + one_line) <= LINE_LENGTH or not clauses:
            return [one_line], None
        return [head, *(INDENT + clause for clause in clauses)], None

    def _map(self, node: ast.MapDecl, depth: int) -> _Printed:
        if node.kind is ast.MapKind.STATES:
            branches = format_branch(node.branches[0])
        else:
            branches = "[" + ", ".join(map(format_branch, node.branches)) + "]"
        header = f"map {node.name} = {branches}"
        if node.items is not None:
            header += f" for {node.items.var} in {format_items(node.items.source)}"
        body: list[ast.MapOption | ast.Reduce] = [*node.options, *node.reduces]
        body.sort(key=lambda item: (item.span.line, item.span.col))
        if not body and not self._has_comment_inside(node.span):
            return [header], None
        return self._braced(header, body, depth, node.span, format_option)  # type: ignore[arg-type]
