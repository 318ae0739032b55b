"""Helpers the checks share: building diagnostics and did-you-mean hints."""

from __future__ import annotations

import difflib
from collections.abc import Mapping

from flowc.errors import Diagnostic, Related, Severity, Span


def error(
    code: str, message: str, span: Span | None, *hints: str, related: tuple[Related, ...] = ()
) -> Diagnostic:
    return Diagnostic(code, message, span, Severity.ERROR, tuple(h for h in hints if h), related)


def warning(
    code: str, message: str, span: Span | None, *hints: str, related: tuple[Related, ...] = ()
) -> Diagnostic:
    return Diagnostic(code, message, span, Severity.WARNING, tuple(h for h in hints if h), related)


def did_you_mean(name: str, known: Mapping[str, Span | None]) -> tuple[str, tuple[Related, ...]]:
    """A hint naming the closest known name (with where it is defined), or ``""``."""
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    if not close:
        return "", ()
    found = close[0]
    span = known[found]
    if span is None:
        return f"did you mean '{found}'?", ()
    return (
        f"did you mean '{found}'? (defined at {span})",
        (Related(f"'{found}' is defined here", span),),
    )
