"""How ``check`` and ``compile`` print diagnostics: each with the excerpt of the file its span
names (an imported .flow file's problem shows that file's line), errors before warnings."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from flowc.compiler.diagnostics import count_summary, sort_key
from flowc.errors import Diagnostic, format_diagnostic


def render_report(diagnostics: Sequence[Diagnostic], sources: dict[str, str | None]) -> str:
    """Diagnostics as text, in source order, each with the caret excerpt of its own file."""
    parts = []
    for item in sorted(diagnostics, key=lambda d: (not d.is_error, sort_key(d))):
        file = item.span.file if item.span else None
        if file is not None and file not in sources:
            sources[file] = _read(file)
        parts.append(format_diagnostic(item, sources.get(file) if file else None))
    return "\n".join(parts)


def render_json_report(diagnostics: Sequence[Diagnostic]) -> str:
    return json.dumps(
        [d.to_dict() for d in sorted(diagnostics, key=lambda d: (not d.is_error, sort_key(d)))],
        indent=2,
    )


def summary(diagnostics: Sequence[Diagnostic], files: int) -> str:
    where = f"{files} file{'s' if files != 1 else ''}"
    if not diagnostics:
        return f"{where} checked: no problems"
    return f"{count_summary(diagnostics)} in {where}"


def _read(file: str) -> str | None:
    try:
        return Path(file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
