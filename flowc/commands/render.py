"""``flowc render FILE [-o OUT] [--format F] [--depth N] [--rankdir LR|TB] [--show-state]
[--run APP_ID --track DIR [--project NAME]] [--renderer auto|pygraphviz|dot]``.

Draws any flow that parses (``flowc check`` is the place for its problems): SVG by default,
PNG, PDF or DOT by the output's suffix or ``--format``; ``-o -`` writes to stdout. With
``--run``, the tracked run ``APP_ID`` (stored by ``LocalTrackingClient`` under ``DIR``) is laid
over the picture. SVG, PNG and PDF need pygraphviz (installed with flowc; it carries Graphviz)
or a system ``dot``; DOT needs nothing. An ``-o`` that is a directory or lies in a missing one
is refused before drawing (F611; no directory is created). Exit codes: 0 drawn, 1 errors (syntax,
no renderer, unknown run), 2 usage (F611 included).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from flowc.errors import FlowError, FlowSyntaxError

SUMMARY = "draw a .flow file (or a tracked run of it) as SVG, PNG, PDF or DOT"
EXIT_OK = 0
EXIT_ERRORS = 1
EXIT_USAGE = 2


class TrackedRunLookupError(FlowError, LookupError):
    """``--run``/``--track`` do not identify one tracked run (F464): no project under the
    directory holds it, or several do; without ``--run``, the project has no runs there."""

    default_code = "F464"


def add_arguments(parser: argparse.ArgumentParser) -> Any:
    from flowc.runtime.graphviz_backend import FORMATS, RENDERERS

    parser.add_argument("file", metavar="FILE", type=Path, help="the .flow file to draw")
    parser.add_argument(
        "-o",
        "--output",
        metavar="OUT",
        help="file to write (.svg, .png, .pdf or .dot); '-' for stdout; "
        "default: FILE with the format's suffix",
    )
    parser.add_argument(
        "--format", choices=FORMATS, help="output format (default: from OUT's suffix, else svg)"
    )
    parser.add_argument(
        "--depth",
        type=_depth,
        metavar="N",
        help="expand subgraphs N levels deep (0: each graph as one node; default: all)",
    )
    parser.add_argument("--rankdir", choices=("LR", "TB"), default="LR", help="layout direction")
    parser.add_argument(
        "--show-state", action="store_true", help="show what each action reads, writes and takes"
    )
    parser.add_argument(
        "--run", metavar="APP_ID", help="overlay this tracked run (default: the newest in --track)"
    )
    parser.add_argument(
        "--track",
        metavar="DIR",
        type=Path,
        help="the tracking directory given to flowc run --track: overlay a run stored there",
    )
    parser.add_argument(
        "--project",
        metavar="NAME",
        help="tracking project (default: the one holding APP_ID, else the flow's name)",
    )
    parser.add_argument(
        "--renderer",
        choices=RENDERERS,
        default="auto",
        help="Graphviz to use: auto (pygraphviz, else the system dot), pygraphviz or dot",
    )
    parser.epilog = "exit codes: 0 drawn, 1 errors, 2 usage error"
    return run


def _depth(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def run(args: argparse.Namespace) -> int:
    from flowc.commands.arguments import UsageError, check_output
    from flowc.compiler.render import render_dot
    from flowc.runtime.graphviz_backend import check_format, find_renderer, render_source

    if args.run is not None and args.track is None:
        print(
            "flowc render: --run needs --track DIR, the directory given to flowc run --track",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if args.output not in (None, "-"):
        try:
            check_output(Path(args.output), "the drawing")
        except UsageError as error:
            print(str(error), file=sys.stderr)
            return EXIT_USAGE
    fmt = check_format(args.format or _suffix_format(args.output) or "svg")
    ir = _load_ir(args.file)
    record = None
    if args.track is not None:
        app_id = args.run or _newest_run(args.track, args.project or ir.meta.name or "flowc")
        record = _load_run(args.track, app_id, args.project)
    dot = render_dot(
        ir, depth=args.depth, rankdir=args.rankdir, show_state=args.show_state, run=record
    )
    renderer = None
    if fmt != "dot":
        renderer = find_renderer(args.renderer)
        if renderer.fallback_reason:
            print(
                f"note: {renderer.fallback_reason}; drawing with {renderer.describe()}",
                file=sys.stderr,
            )
    data = render_source(dot, fmt, renderer=renderer or "auto")
    if args.output == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return EXIT_OK
    out = Path(args.output) if args.output else args.file.with_suffix(f".{fmt}")
    try:
        out.write_bytes(data)
    except OSError as exc:
        print(f"flowc render: cannot write {out}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_ERRORS
    print(f"wrote {out}", file=sys.stderr)
    return EXIT_OK


def _suffix_format(output: str | None) -> str | None:
    if not output or output == "-":
        return None
    suffix = Path(output).suffix.lower().lstrip(".")
    return suffix or None


def _load_ir(path: Path) -> Any:
    """Parse and lower ``path``; syntax errors raise (checks are ``flowc check``'s job)."""
    from flowc.compiler.lower import lower
    from flowc.compiler.parse import parse, read_source

    text, problems = read_source(path)
    if text is None:
        raise FlowSyntaxError(diagnostics=problems)
    module, diagnostics = parse(text, str(path))
    if module is None:
        raise FlowSyntaxError(diagnostics=diagnostics, source=text)
    return lower(module, file=str(path))


def _load_run(track: Path, app_id: str, project: str | None) -> Any:
    """The tracked run with its children, finding its project under ``track`` if not named.
    ``track`` may also be a project directory itself."""
    from flowc.runtime.tracking import app_dir_name, load_run

    if project is not None:
        return load_run(project, app_id, track)
    if (track / app_dir_name(app_id)).is_dir():
        return load_run(track.name, app_id, track.parent)
    holders = sorted(p.name for p in _subdirectories(track) if (p / app_dir_name(app_id)).is_dir())
    if len(holders) == 1:
        return load_run(holders[0], app_id, track)
    if not holders:
        raise TrackedRunLookupError(
            f"no tracked run '{app_id}' under {track}",
            hints=(
                "--track is the directory given to flowc run --track (or LocalTrackingClient's"
                " storage_dir)",
            ),
        )
    raise TrackedRunLookupError(
        f"run '{app_id}' is tracked in several projects under {track}: {', '.join(holders)}",
        hints=("choose one with --project NAME",),
    )


def _newest_run(track: Path, project: str) -> str:
    """The app id of the newest top-level run of ``project`` under ``track`` (which may be the
    project's directory itself), said on stderr so the user knows which run is drawn."""
    from flowc.runtime.tracking import METADATA_FILENAME, list_runs

    subdirectories = _subdirectories(track)
    if any((p / METADATA_FILENAME).is_file() for p in subdirectories):  # a project directory
        project, track, subdirectories = track.name, track.parent, []
    runs = list_runs(project, track)
    if not runs:
        projects = sorted(p.name for p in subdirectories)
        raise TrackedRunLookupError(
            f"no tracked runs of project '{project}' under {track}",
            hints=(
                f"projects there: {', '.join(projects)}; choose one with --project NAME"
                if projects
                else "record one with flowc run FILE --track DIR",
            ),
        )
    newest = runs[0].app_id
    others = f" (of {len(runs)}; choose another with --run APP_ID)" if len(runs) > 1 else ""
    print(f"flowc render: drawing the newest run, {newest}{others}", file=sys.stderr)
    return newest


def _subdirectories(path: Path) -> list[Path]:
    try:
        return [p for p in path.iterdir() if p.is_dir()]
    except OSError:
        return []
