"""Rendering diagnostics for people (rustc-like text) and for tools (JSON).

The data lives in ``flowc.errors`` (``Diagnostic``, ``Span``); this module only decides how a
list of them is shown: each one as ``file:line:col: error[F123]: message``, the source line with
a caret under the span, and ``= hint:`` lines (``flowc.errors.format_diagnostic``), errors in
source order, capped at ``max_shown`` with "… and N more", and a closing count.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from flowc.errors import MAX_ERRORS_SHOWN, Diagnostic, Severity, format_diagnostic


def sort_key(item: Diagnostic) -> tuple[str, int, int, str]:
    span = item.span
    if span is None:
        return ("", 0, 0, item.code)
    return (span.file, span.line, span.col, item.code)


def render_text(
    diagnostics: Sequence[Diagnostic],
    source: str | None = None,
    *,
    max_shown: int = MAX_ERRORS_SHOWN,
    summary: bool = True,
) -> str:
    """All ``diagnostics`` as text, in source order, each with its caret excerpt."""
    ordered = sorted(diagnostics, key=sort_key)
    shown = ordered[:max_shown]
    parts = [format_diagnostic(item, source) for item in shown]
    if len(ordered) > len(shown):
        parts.append(f"… and {len(ordered) - len(shown)} more")
    if summary and ordered:
        parts.append(count_summary(ordered))
    return "\n".join(parts)


def count_summary(diagnostics: Sequence[Diagnostic]) -> str:
    """ "2 errors, 1 warning" — the last line of a report."""
    errors = sum(1 for d in diagnostics if d.severity is Severity.ERROR)
    warnings = sum(1 for d in diagnostics if d.severity is Severity.WARNING)
    words = []
    if errors:
        words.append(f"{errors} error{'s' if errors != 1 else ''}")
    if warnings:
        words.append(f"{warnings} warning{'s' if warnings != 1 else ''}")
    return ", ".join(words) if words else f"{len(diagnostics)} note(s)"


def render_json(diagnostics: Sequence[Diagnostic]) -> str:
    """A JSON list of ``Diagnostic.to_dict()`` in source order (for editors and CI)."""
    return json.dumps([d.to_dict() for d in sorted(diagnostics, key=sort_key)], indent=2)
