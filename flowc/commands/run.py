"""``flowc run FILE``: compile, build and run a flow; print its final state as JSON.

Options: ``--state key=value`` (repeatable; values parsed as JSON when they parse, else taken
as strings), ``--state-file s.json``, ``--input key=value`` (runtime inputs, same parsing),
``--halt-after NAME`` (repeatable), ``--executor threads:N|dask:ADDRESS``, ``--persist
sqlite:PATH``, ``--resume APP_ID`` (needs ``--persist``), ``--track DIR``, ``--output OUT``,
``--traceback user|full``.

The .flow file's directory and the working directory are put at the front of ``sys.path`` for
the run, so modules beside the flow import by their plain name. The final state goes to stdout
(or ``--output``), everything else to stderr: the run's app id first (to resume it), progress for
each map (a live bar on a terminal, one plain line per map otherwise), and on failure the error
with its ``.flow`` path and the user's own traceback frames.

Exit codes: 0 the run finished; 1 the flow has errors (syntax, checks, build); 2 usage errors
(bad ``key=value``, unreadable state file, unknown executor); 3 the run failed (an action raised,
a map's branches failed); 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from flowc.errors import FlowError, FlowRuntimeError

SUMMARY = "run a .flow file and print its final state as JSON"
EXIT_OK = 0
EXIT_ERRORS = 1
EXIT_USAGE = 2
EXIT_FAILED = 3
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """A command-line value that cannot be used (exit 2)."""


def add_arguments(parser: argparse.ArgumentParser) -> Any:
    parser.add_argument("file", metavar="FILE", type=Path, help="the .flow file to run")
    add_state_arguments(parser)
    parser.add_argument(
        "--input",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a runtime input (repeatable); the value is JSON if it parses, else a string",
    )
    parser.add_argument(
        "--halt-after", action="append", default=[], metavar="NAME", help="stop after NAME runs"
    )
    parser.add_argument(
        "--executor",
        metavar="threads:N|dask:ADDRESS",
        help="where map branches run (default: a thread pool per map)",
    )
    parser.add_argument("--persist", metavar="sqlite:PATH", help="save every step to a SQLite file")
    parser.add_argument(
        "--resume", metavar="APP_ID", help="continue the run APP_ID saved with --persist"
    )
    parser.add_argument("--track", metavar="DIR", help="record the run for `flowc render --run`")
    parser.add_argument("-o", "--output", type=Path, help="write the final state here")
    parser.add_argument(
        "--traceback",
        choices=("user", "full"),
        default="user",
        help="on failure show only your code's frames (default) or every frame",
    )
    parser.epilog = (
        "exit codes: 0 finished, 1 errors in the flow, 2 usage error, 3 the run failed, "
        "130 interrupted"
    )
    return run


def add_state_arguments(parser: argparse.ArgumentParser) -> None:
    """``--state key=value`` and ``--state-file``, shared with ``flowc plan``."""
    parser.add_argument(
        "--state",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set a state field (repeatable); the value is JSON if it parses, else a string",
    )
    parser.add_argument(
        "--state-file", type=Path, metavar="FILE", help="a JSON object of state fields"
    )


def register(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("run", help=SUMMARY, description=SUMMARY)
    parser.set_defaults(handler=add_arguments(parser))
    return parser


# ---- parsing values ---------------------------------------------------------------------------


def parse_value(text: str) -> Any:
    """JSON when it parses (``3``, ``true``, ``["a"]``), else the text itself."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_pairs(pairs: Sequence[str], what: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"{what} {pair!r} is not KEY=VALUE")
        values[key.strip()] = parse_value(value)
    return values


def state_overrides(args: argparse.Namespace) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if args.state_file is not None:
        try:
            loaded = json.loads(Path(args.state_file).read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise UsageError(f"cannot read the state file {args.state_file}: {error}") from None
        if not isinstance(loaded, dict):
            raise UsageError(f"the state file {args.state_file} must hold a JSON object")
        values.update(loaded)
    values.update(parse_pairs(args.state, "--state"))
    return values


def make_executor(spec: str | None) -> Any:
    if spec is None:
        return None
    kind, _, arg = spec.partition(":")
    if kind == "threads":
        from flowc.runtime.executors import MultiThreadedExecutor

        if not arg.isdigit() or int(arg) < 1:
            raise UsageError(f"--executor threads:N needs a positive N, got {arg!r}")
        return MultiThreadedExecutor(max_concurrency=int(arg))
    if kind == "dask" and arg:
        from flowc.compiler.build import dask_executor

        return dask_executor(arg)
    raise UsageError(f"--executor {spec!r}: use threads:N or dask:ADDRESS")


def make_persister(spec: str | None) -> Any:
    if spec is None:
        return None
    kind, _, path = spec.partition(":")
    if kind != "sqlite" or not path:
        raise UsageError(f"--persist {spec!r}: use sqlite:PATH")
    from flowc.runtime.persistence import SQLitePersister

    return SQLitePersister(path)


def flow_search_path(flow_file: Path) -> list[str]:
    """What ``flowc run`` puts in front of ``sys.path``: the flow's directory, then the cwd."""
    return list(dict.fromkeys([str(flow_file.resolve().parent), os.getcwd()]))


# ---- progress ---------------------------------------------------------------------------------


class Progress:
    """Map progress on stderr: a redrawn line per running map on a terminal, otherwise one
    plain line when a map finishes. Thread-safe (branches finish on worker threads)."""

    def __init__(self, stream: TextIO, live: bool) -> None:
        self.stream = stream
        self.live = live
        self.lock = threading.Lock()
        self.maps: dict[str, dict[str, Any]] = {}
        self.last_draw = 0.0

    def map_started(self, map_name: str, total: int | None, limit: int | None) -> None:
        with self.lock:
            entry = self.maps.get(map_name)
            if entry is None or entry["open"] <= 0:  # a new invocation (a loop runs it again)
                entry = self.maps[map_name] = _counts()
            entry["open"] += 1
            known = total is not None and entry["total"] is not None
            entry["total"] = entry["total"] + total if known else None
            entry["limit"] = limit

    def branch_started(self, map_name: str) -> None:
        with self.lock:
            self.maps.setdefault(map_name, _counts())["started"] += 1
            self._draw(map_name)

    def branch_finished(self, map_name: str, ok: bool) -> None:
        with self.lock:
            entry = self.maps.setdefault(map_name, _counts())
            entry["done" if ok else "failed"] += 1
            self._draw(map_name)

    def map_finished(self, map_name: str) -> None:
        with self.lock:
            entry = self.maps.setdefault(map_name, _counts())
            entry["open"] -= 1
            if entry["open"] <= 0:
                self._draw(map_name, final=True)

    def _draw(self, map_name: str, final: bool = False) -> None:
        now = time.monotonic()
        if not final and (not self.live or now - self.last_draw < 0.05):
            return
        self.last_draw = now
        line = describe_progress(map_name, self.maps[map_name], final)
        if self.live:
            self.stream.write(f"\r\x1b[2K{line}" + ("\n" if final else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


def _counts() -> dict[str, Any]:
    return {"open": 0, "total": 0, "started": 0, "done": 0, "failed": 0, "limit": None}


def describe_progress(map_name: str, entry: dict[str, Any], final: bool) -> str:
    done, failed, total = entry["done"], entry["failed"], entry["total"]
    running = max(0, entry["started"] - done - failed)
    if entry["limit"]:
        running = min(running, entry["limit"])
    if final:
        return f"map {map_name}: {done} done, {failed} failed"
    finished = done + failed
    if total:
        width = 24
        filled = int(width * finished / total)
        bar = "#" * filled + "." * (width - filled)
        counts = f"{done} done, {failed} failed, {running} running"
        return f"map {map_name} [{bar}] {finished}/{total}: {counts}"
    return f"map {map_name}: {done} done, {failed} failed, {running} running"


# ---- the command ------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    from flowc.commands.report import render_report
    from flowc.compiler import compile_file

    try:
        state = state_overrides(args)
        inputs = parse_pairs(args.input, "--input")
        if args.resume and not args.persist:
            raise UsageError("--resume needs --persist sqlite:PATH (where the run was saved)")
    except UsageError as error:
        print(f"flowc run: {error}", file=sys.stderr)
        return EXIT_USAGE
    sys.path[:0] = [p for p in flow_search_path(args.file) if p not in sys.path]
    try:
        compiled = compile_file(args.file)
    except FlowError as error:
        print(render_report(error.diagnostics, {str(args.file): error.source}), file=sys.stderr)
        return EXIT_ERRORS
    if compiled.diagnostics:
        print(
            render_report(compiled.diagnostics, {str(args.file): compiled.source}), file=sys.stderr
        )
    try:
        executor = make_executor(args.executor)
        persister = make_persister(args.persist)
    except UsageError as error:
        print(f"flowc run: {error}", file=sys.stderr)
        return EXIT_USAGE
    except FlowError as error:
        print(str(error), file=sys.stderr)
        return EXIT_ERRORS
    try:
        return _run(compiled, args, state, inputs, executor, persister)
    finally:
        close = getattr(persister, "close", None)
        if callable(close):
            close()


def _run(
    compiled: Any,
    args: argparse.Namespace,
    state: dict[str, Any],
    inputs: dict[str, Any],
    executor: Any,
    persister: Any,
) -> int:
    from flowc.compiler.source_maps import describe_failure

    app_id = args.resume or str(uuid.uuid4())
    tracker = None
    if args.track:
        from flowc.runtime.tracking import LocalTrackingClient

        tracker = LocalTrackingClient(compiled.ir.meta.name or "flowc", storage_dir=args.track)
    print(f"flowc: app id {app_id}", file=sys.stderr)
    progress = Progress(sys.stderr, live=sys.stderr.isatty())
    try:
        app = compiled.build_application(
            state=state,
            executor=executor,
            persister=persister,
            tracker=tracker,
            app_id=app_id,
            resume=bool(args.resume),
            progress=progress,
        )
    except FlowError as error:
        print(str(error.with_source(compiled.source)), file=sys.stderr)
        return EXIT_ERRORS
    try:
        _, _, final = app.run(halt_after=args.halt_after or None, inputs=inputs)
    except KeyboardInterrupt:
        print(f"flowc: interrupted; resume with --resume {app_id}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except FlowError as error:
        if not isinstance(error, FlowRuntimeError):
            print(str(error), file=sys.stderr)
            return EXIT_ERRORS
        print(describe_failure(error, full=args.traceback == "full"), file=sys.stderr)
        return _failed(app_id, persister)
    except Exception as error:  # an action raised: reported in .flow terms, never a raw traceback
        print(describe_failure(error, full=args.traceback == "full"), file=sys.stderr)
        return _failed(app_id, persister)
    text = json.dumps(final.get_all(), indent=2, ensure_ascii=False, default=repr) + "\n"
    if args.output is None:
        sys.stdout.write(text)
        return EXIT_OK
    try:
        args.output.write_text(text, encoding="utf-8")
    except OSError as error:
        print(f"flowc run: cannot write {args.output}: {error.strerror}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


def _failed(app_id: str, persister: Any) -> int:
    if persister is not None:
        print(f"flowc: finished steps are saved; resume with --resume {app_id}", file=sys.stderr)
    return EXIT_FAILED
