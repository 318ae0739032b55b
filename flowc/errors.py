"""The leaf of flowc: source spans, diagnostics and the ``FlowError`` family.

Every stage — grammar, compiler, runtime, CLI — reports through these types, so this
module imports nothing from flowc and nothing heavy. Rendering here is deliberately
small (a header line, the source line with a caret, hints); the compiler may render
richer output from the same data.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate
from typing import NamedTuple

MAX_ERRORS_SHOWN = 20
EXCERPT_WIDTH = 120  # characters of a source line shown under a diagnostic; longer lines are cut
EXCERPT_CONTEXT = 40  # of them, how many before the span's start


class Span(NamedTuple):
    """A region of a source file: 1-based line and column, end exclusive (as in Lark).

    A named tuple, not a dataclass: a parse builds one per AST node, and a tuple is built about
    three times faster (0.6 µs against 1.8 µs for a frozen dataclass on our 2-core machine)."""

    file: str
    line: int
    col: int
    end_line: int | None = None
    end_col: int | None = None

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"

    def shifted(self, line_offset: int = 0, col_offset: int = 0) -> Span:
        """The same span moved, for text that was parsed out of a larger file."""
        end_line = None if self.end_line is None else self.end_line + line_offset
        return Span(
            self.file,
            self.line + line_offset,
            self.col + col_offset,
            end_line,
            None if self.end_col is None else self.end_col + col_offset,
        )


class Severity(enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"


@dataclass(frozen=True, slots=True)
class Related:
    """A second location that explains a diagnostic ("first defined here")."""

    message: str
    span: Span


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One finding: a stable code (F1xx syntax, F2xx names and shape, F3xx state and types,
    F4xx build, F5xx runtime), where it is, and what to do about it."""

    code: str
    message: str
    span: Span | None = None
    severity: Severity = Severity.ERROR
    hints: tuple[str, ...] = ()
    related: tuple[Related, ...] = ()

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def to_dict(self) -> dict[str, object]:
        span = self.span
        return {
            "code": self.code,
            "severity": self.severity.value,
            "message": self.message,
            "file": span.file if span else None,
            "line": span.line if span else None,
            "col": span.col if span else None,
            "end_line": span.end_line if span else None,
            "end_col": span.end_col if span else None,
            "hints": list(self.hints),
            "related": [
                {"message": r.message, "file": r.span.file, "line": r.span.line, "col": r.span.col}
                for r in self.related
            ],
        }


def format_diagnostic(
    diagnostic: Diagnostic, source: str | None = None, source_file: str | None = None
) -> str:
    """Render ``file:line:col: error[F203]: message``, the source line with a caret, and hints.

    ``source`` is the text the span points into; when ``source_file`` names it, spans into
    other files (an imported .flow file) get no excerpt rather than a wrong one."""
    span = diagnostic.span
    where = f"{span}: " if span else ""
    lines = [f"{where}{diagnostic.severity.value}[{diagnostic.code}]: {diagnostic.message}"]
    same_file = source_file is None or (span is not None and span.file == source_file)
    if span is not None and source is not None and same_file:
        lines.extend(caret_excerpt(span, source))
    lines.extend(f"   = hint: {hint}" for hint in diagnostic.hints)
    lines.extend(f"   = note: {r.message} ({r.span})" for r in diagnostic.related)
    return "\n".join(lines)


def caret_excerpt(span: Span, source: str) -> list[str]:
    """The span's line (cut around it when long) and a caret line under the span."""
    text = source_line(source, span.line)
    if text is None:
        return []
    text = text.replace("\t", " ")
    same_line = span.end_line in (None, span.line) and span.end_col is not None
    width = max(1, span.end_col - span.col) if same_line and span.end_col else 1
    text, column = _window(text, span.col - 1)
    width = min(width, max(1, len(text) - column))  # not past the end of what is shown
    gutter = " " * len(str(span.line))
    return [
        f" {span.line} | {text}",
        f" {gutter} | {' ' * column}{'^' * width}",
    ]


def _window(text: str, column: int) -> tuple[str, int]:
    """At most EXCERPT_WIDTH characters of a long line around ``column`` (0-based), marked
    with "…" where cut, and the column in what is shown: a state block written on one line may
    be thousands of characters long, and each of its diagnostics would print all of it."""
    if len(text) <= EXCERPT_WIDTH:
        return text, column
    start = max(0, min(column - EXCERPT_CONTEXT, len(text) - EXCERPT_WIDTH))
    end = start + EXCERPT_WIDTH
    head = "…" if start > 0 else ""
    tail = "…" if end < len(text) else ""
    return head + text[start:end] + tail, column - start + len(head)


def source_line(source: str, number: int) -> str | None:
    """Line ``number`` (1-based) of ``source`` without its line break, or None past the end.

    Lines end at "\n" alone, as the lexer counts them (``str.splitlines`` also breaks at form
    feeds and other separators, which would show the wrong line). The line starts are found
    once per source: a file with thousands of diagnostics is not split once per diagnostic."""
    starts = _line_starts(source)
    if not 1 <= number <= len(starts):
        return None
    start = starts[number - 1]
    end = starts[number] - 1 if number < len(starts) else len(source)
    if number == len(starts) and start == end:
        return None  # the empty "line" after a final newline (or of an empty text) is not one
    line = source[start:end]
    return line[:-1] if line.endswith("\r") else line


@lru_cache(maxsize=4)
def _line_starts(source: str) -> tuple[int, ...]:
    return tuple(accumulate((len(line) + 1 for line in source.split("\n")[:-1]), initial=0))


class FlowError(Exception):
    """Base of every user-facing failure. Carries one or more diagnostics; ``code`` and ``span``
    are the first one's. ``source`` (the text the spans point into) is attached by whoever has it,
    so that ``str()`` can show the caret excerpt."""

    default_code = "F000"

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        span: Span | None = None,
        hints: Sequence[str] = (),
        diagnostics: Iterable[Diagnostic] | None = None,
        source: str | None = None,
        source_file: str | None = None,
    ) -> None:
        if diagnostics is None:
            diagnostics = [
                Diagnostic(code or self.default_code, message or "", span, hints=tuple(hints))
            ]
        self.diagnostics: tuple[Diagnostic, ...] = tuple(diagnostics)
        if not self.diagnostics:
            raise ValueError("a FlowError needs at least one diagnostic")
        self.source = source
        self.source_file = source_file
        super().__init__(self.diagnostics[0].message)

    @property
    def code(self) -> str:
        return self.diagnostics[0].code

    @property
    def span(self) -> Span | None:
        return self.diagnostics[0].span

    @property
    def message(self) -> str:
        return self.diagnostics[0].message

    @property
    def hints(self) -> tuple[str, ...]:
        return self.diagnostics[0].hints

    def with_source(self, source: str, source_file: str | None = None) -> FlowError:
        self.source = source
        self.source_file = source_file
        return self

    def __str__(self) -> str:
        shown = self.diagnostics[:MAX_ERRORS_SHOWN]
        text = "\n".join(format_diagnostic(d, self.source, self.source_file) for d in shown)
        rest = len(self.diagnostics) - len(shown)
        if rest:
            text += f"\n… and {rest} more"
        return text

    def __reduce__(self):  # errors cross process executors (Dask, process pools)
        return (_rebuild_error, (type(self), self.diagnostics, self.source, self.__dict__))


def _rebuild_error(
    cls: type[FlowError],
    diagnostics: tuple[Diagnostic, ...],
    source: str | None,
    state: dict[str, object],
) -> FlowError:
    error = cls.__new__(cls)
    FlowError.__init__(error, diagnostics=diagnostics, source=source)
    error.__dict__.update(state)
    return error


class FlowSyntaxError(FlowError):
    """The text of a .flow file (or of a condition) does not parse. Codes F1xx."""

    default_code = "F100"


class FlowCheckError(FlowError):
    """The flow parses but is wrong: names, graph shape, dataflow, types. Codes F2xx/F3xx."""

    default_code = "F200"


class FlowBuildError(FlowError):
    """The flow cannot be turned into runtime objects (an import fails, a bad binding). F4xx."""

    default_code = "F400"


class FlowRuntimeError(FlowError):
    """A failure while running: a missing input, an undeclared write, a branch that failed. F5xx."""

    default_code = "F500"
