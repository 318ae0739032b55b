"""``flowc compile FILE [--emit ir|python] [-o OUT]``: the checked flow as JSON IR (see
docs/compiler.md) or as a Python module that needs only ``flowc.runtime`` (docs/build.md);
without ``--emit``, ``-o`` naming a ``.py`` file means the module, anything else the IR.

Without ``-o`` the output goes to stdout; diagnostics go to stderr. An ``-o`` that is a
directory or lies in a missing one is refused before compiling (F611; no directory is created).
Exit codes: 0 written (warnings allowed), 1 errors in the flow (nothing written) or the write
failed, 2 usage (F611 included).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from flowc.errors import FlowError

SUMMARY = "compile a .flow file to JSON IR (or a Python module)"
EXIT_OK = 0
EXIT_ERRORS = 1
EXIT_USAGE = 2
EMITTERS = ("ir", "python")


def add_arguments(parser: argparse.ArgumentParser) -> Any:
    parser.add_argument("file", metavar="FILE", type=Path, help="the .flow file")
    parser.add_argument(
        "--emit",
        choices=EMITTERS,
        help="ir: the checked IR as JSON; python: a module on flowc.runtime "
        "(default: python when -o names a .py file, else ir)",
    )
    parser.add_argument("-o", "--output", type=Path, help="write here instead of stdout")
    parser.add_argument("--strict", action="store_true", help="treat warnings as errors")
    parser.add_argument(
        "--no-import",
        action="store_true",
        help="do not import the Python modules the flow names (skips the Python-side checks)",
    )
    parser.epilog = (
        "exit codes: 0 written, 1 errors in the flow, 2 usage error (an -o in a missing directory)"
    )
    return run


def run(args: argparse.Namespace) -> int:
    from flowc.commands.arguments import UsageError, check_output
    from flowc.commands.report import render_report
    from flowc.compiler import compile_file

    try:
        check_output(args.output, "the compiled flow")
    except UsageError as error:
        print(str(error), file=sys.stderr)
        return EXIT_USAGE
    try:
        compiled = compile_file(args.file, import_python=not args.no_import, strict=args.strict)
    except FlowError as error:
        print(render_report(error.diagnostics, {str(args.file): error.source}), file=sys.stderr)
        return EXIT_ERRORS
    if compiled.diagnostics:
        print(
            render_report(compiled.diagnostics, {str(args.file): compiled.source}), file=sys.stderr
        )
    text = _emit(compiled, args.emit or _emit_for(args.output))
    if args.output is None:
        sys.stdout.write(text)
        return EXIT_OK
    try:
        args.output.write_text(text, encoding="utf-8")
    except OSError as error:
        print(f"flowc compile: cannot write {args.output}: {error.strerror}", file=sys.stderr)
        return EXIT_ERRORS
    return EXIT_OK


def _emit_for(output: Path | None) -> str:
    """What ``-o`` asks for by its name when ``--emit`` is not given: ``-o out.py`` a module."""
    return "python" if output is not None and output.suffix == ".py" else "ir"


def _emit(compiled: Any, emit: str) -> str:
    if emit == "ir":
        from flowc.compiler.ir_schema import dump_ir

        return dump_ir(compiled.ir) + "\n"
    from flowc.compiler.emit import emit_python

    return emit_python(compiled.ir)
