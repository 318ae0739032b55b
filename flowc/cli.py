"""The ``flowc`` command line: one subcommand per job, each a small function.

``main(argv)`` parses arguments and dispatches to the subcommand's handler, which returns the
exit code. Every user-facing failure is a ``FlowError`` rendered as diagnostics on stderr (exit 1);
usage errors exit 2 (argparse); nothing prints a traceback. Each subcommand has an entry in
``SUBCOMMANDS``: its summary and a function that adds its arguments and returns its handler.

Exit codes: 0 success; 1 errors in the input (or files ``fmt --check`` would change); 2 usage.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from flowc import __version__
from flowc.commands import check as check_command
from flowc.commands import compile as compile_command
from flowc.commands import plan as plan_command
from flowc.commands import render as render_command
from flowc.commands import run as run_command
from flowc.errors import FlowError

EXIT_OK = 0
EXIT_ERRORS = 1
EXIT_USAGE = 2
EXIT_BROKEN_PIPE = 141  # what a shell reports for a process that SIGPIPE ended (128 + 13)

Handler = Callable[[argparse.Namespace], int]


def _fmt_arguments(parser: argparse.ArgumentParser) -> Handler:
    parser.add_argument("files", nargs="+", metavar="FILE", type=Path, help=".flow files")
    parser.add_argument(
        "--check",
        action="store_true",
        help="change nothing; exit 1 and list the files that are not formatted",
    )
    return run_fmt


def run_fmt(args: argparse.Namespace) -> int:
    """Rewrite each file in canonical layout (or, with --check, report which would change)."""
    from flowc.compiler.diagnostics import render_text
    from flowc.compiler.format import format_module
    from flowc.compiler.parse import parse, read_source

    status = EXIT_OK
    for path in args.files:
        text, diagnostics = read_source(path)
        module = None
        if text is not None:
            module, diagnostics = parse(text, str(path))
        if module is None or text is None:
            print(render_text(diagnostics, text), file=sys.stderr)
            status = EXIT_ERRORS
            continue
        formatted = format_module(module)
        if formatted == text:
            continue
        if args.check:
            print(f"would reformat {path}", file=sys.stderr)
            status = EXIT_ERRORS
            continue
        try:
            path.write_text(formatted, encoding="utf-8")
        except OSError as error:
            print(f"flowc fmt: cannot write {path}: {error.strerror or error}", file=sys.stderr)
            status = EXIT_ERRORS
            continue
        print(f"reformatted {path}", file=sys.stderr)
    return status


SUBCOMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], Handler]]] = {
    "fmt": ("rewrite .flow files in canonical layout", _fmt_arguments),
    "check": (check_command.SUMMARY, check_command.add_arguments),
    "compile": (compile_command.SUMMARY, compile_command.add_arguments),
    "render": (render_command.SUMMARY, render_command.add_arguments),
    "run": (run_command.SUMMARY, run_command.add_arguments),
    "plan": (plan_command.SUMMARY, plan_command.add_arguments),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="flowc",
        description="Compile, check, run and draw .flow graphs.",
    )
    parser.add_argument("--version", action="version", version=f"flowc {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (summary, add_arguments) in SUBCOMMANDS.items():
        sub = commands.add_parser(name, help=summary, description=summary)
        sub.set_defaults(handler=add_arguments(sub))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``flowc`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return handler(args)
    except FlowError as error:
        print(str(error), file=sys.stderr)
        return EXIT_ERRORS
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `flowc check big.flow | head`: the reader has all it wanted
        _silence_closed_output()
        return EXIT_BROKEN_PIPE


def _silence_closed_output() -> None:
    """Point stdout and stderr at /dev/null, so that the interpreter's flush at exit does not
    fail again on the closed pipe (Python's documented way out)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a replaced or closed stream: let it be
            os.dup2(devnull, stream.fileno())


if __name__ == "__main__":
    sys.exit(main())
