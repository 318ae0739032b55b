"""``flowc check FILE... [--format text|json] [--strict] [--no-import]``.

Compiles each file through the funnel and reports every diagnostic (syntax, names, shape,
dataflow, types, and — unless ``--no-import`` — the Python side). The report goes to stdout
(text: rustc-like with carets and a summary line; json: one list of diagnostic objects for all
files). Exit codes: 0 no errors (warnings allowed), 1 at least one error (with ``--strict``,
warnings count as errors), 2 usage errors.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from flowc.errors import Diagnostic, FlowError

SUMMARY = "report every problem in .flow files (exit 1 on errors)"
EXIT_OK = 0
EXIT_ERRORS = 1


def add_arguments(parser: argparse.ArgumentParser) -> Any:
    parser.add_argument("files", nargs="+", metavar="FILE", type=Path, help=".flow files")
    parser.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text for people (default), json for editors and CI",
    )
    parser.add_argument("--strict", action="store_true", help="treat warnings as errors")
    parser.add_argument(
        "--no-import",
        action="store_true",
        help="do not import the Python modules the flow names (skips the Python-side checks)",
    )
    parser.epilog = "exit codes: 0 no errors, 1 errors found, 2 usage error"
    return run


def diagnose(
    path: Path, *, import_python: bool, strict: bool
) -> tuple[list[Diagnostic], str | None]:
    """All diagnostics of one file, and its text (``None`` if it could not be read)."""
    from flowc.compiler import compile_file

    try:
        compiled = compile_file(path, import_python=import_python, strict=strict)
    except FlowError as error:
        return list(error.diagnostics), error.source
    return list(compiled.diagnostics), compiled.source


def run(args: argparse.Namespace) -> int:
    from flowc.commands.report import render_json_report, render_report, summary

    found: list[Diagnostic] = []
    sources: dict[str, str | None] = {}
    for path in args.files:
        diagnostics, text = diagnose(path, import_python=not args.no_import, strict=args.strict)
        sources[str(path)] = text
        found.extend(diagnostics)
    if args.format == "json":
        print(render_json_report(found))
    else:
        if found:
            print(render_report(found, sources))
        print(summary(found, len(args.files)))
    return EXIT_ERRORS if any(d.is_error for d in found) else EXIT_OK
