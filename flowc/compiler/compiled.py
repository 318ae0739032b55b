"""The single funnel from .flow text to a checked flow: parse, lower, check, attach the source.

Like Jinja's ``handle_exception``, this is the one place that decides whether to raise: syntax
errors raise ``FlowSyntaxError`` (nothing is lowered), check errors raise ``FlowCheckError``,
each carrying **all** diagnostics (errors first, then warnings) and the source text so that
``str(error)`` shows carets. Warnings alone do not raise; they are ``CompiledFlow.diagnostics``.
``strict=True`` promotes warnings to errors.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from flowc.compiler.checks import run_checks
from flowc.compiler.collector import collector_paused
from flowc.compiler.diagnostics import sort_key
from flowc.compiler.ir import FlowIR
from flowc.compiler.lower import lower
from flowc.compiler.parse import parse, read_source
from flowc.errors import Diagnostic, FlowCheckError, FlowSyntaxError, Severity


@dataclass(frozen=True, slots=True)
class CompiledFlow:
    """A flow that parsed and passed the checks: its IR, its warnings, and where it came from."""

    ir: FlowIR
    diagnostics: tuple[Diagnostic, ...]
    source: str
    path: str | None = None

    def build_application(
        self,
        state: Any = None,
        executor: Any = None,
        persister: Any = None,
        tracker: Any = None,
        app_id: str | None = None,
        **kw: Any,
    ) -> Any:
        """Runtime objects for this flow (``flowc.compiler.build.build_application``)."""
        from flowc.compiler.build import build_application

        return build_application(
            self.ir,
            state=state,
            executor=executor,
            persister=persister,
            tracker=tracker,
            app_id=app_id,
            **kw,
        )


def compile_source(
    text: str, filename: str = "<string>", *, import_python: bool = True, strict: bool = False
) -> CompiledFlow:
    """Compile .flow text; ``filename`` names it in spans and anchors relative imports."""
    with collector_paused():
        return _compile(text, filename, import_python=import_python, strict=strict)


def _compile(text: str, filename: str, *, import_python: bool, strict: bool) -> CompiledFlow:
    module, syntax = parse(text, filename)
    if module is None:
        raise FlowSyntaxError(diagnostics=_ordered(syntax), source=text, source_file=filename)
    ir = lower(module, file=filename)
    found = run_checks(ir, import_python=import_python)
    if strict:
        found = [replace(d, severity=Severity.ERROR) if _is_warning(d) else d for d in found]
    ordered = _ordered(found)
    if any(d.is_error for d in ordered):
        raise FlowCheckError(diagnostics=ordered, source=text, source_file=filename)
    path = None if filename.startswith("<") else filename
    return CompiledFlow(ir, tuple(ordered), text, path)


def compile_file(
    path: str | Path, *, import_python: bool = True, strict: bool = False
) -> CompiledFlow:
    """Read and compile a .flow file (unreadable or non-UTF-8 files raise FlowSyntaxError)."""
    text, problems = read_source(path)
    if text is None:
        raise FlowSyntaxError(diagnostics=problems, source=None)
    return compile_source(text, str(path), import_python=import_python, strict=strict)


def _is_warning(item: Diagnostic) -> bool:
    return item.severity is Severity.WARNING


def _ordered(found: Sequence[Diagnostic]) -> list[Diagnostic]:
    """Errors first, then warnings, each in source order; exact duplicates dropped."""
    unique = list(dict.fromkeys(found))
    return sorted(unique, key=lambda d: (not d.is_error, sort_key(d)))
