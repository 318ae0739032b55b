"""``flowc run FILE``: compile, build and run a flow; print its final state as JSON.

Options: ``--state key=value`` (repeatable; values parsed as JSON when they parse, else taken
as strings), ``--state-file s.json``, ``--input key=value`` (runtime inputs, same parsing),
``--halt-after NAME`` (repeatable), ``--executor threads:N|dask:ADDRESS``, ``--persist
sqlite:PATH``, ``--resume APP_ID`` (needs ``--persist``), ``--track DIR``, ``--output OUT``,
``--traceback user|full``.

Nothing the user asked for is ignored: every ``--state`` key must be a field of the flow's
``state { }`` block and its value must have the field's declared type (checked before anything
runs, the error pointing at the declaration), every ``--input`` must be taken by some step, every
``--halt-after`` must name a top-level step, and the executor, database, tracking directory and
output path are opened or checked before the run starts. Such problems are ``UsageError``\\ s
(codes F601–F611, exit 2; the state checks live in ``arguments.py``).

The .flow file's directory and the working directory are put at the front of ``sys.path`` for
the run, so modules beside the flow import by their plain name. The final state goes to stdout
(or ``--output``), everything else to stderr: the run's app id first (to resume it), progress for
each map (a live bar on a terminal, one plain line per map otherwise), and on failure the error
with its ``.flow`` path and the user's own traceback frames.

Exit codes: 0 the run finished; 1 the flow has errors (syntax, checks, build) or cannot be read;
2 usage errors (a flag value flowc cannot use); 3 the run failed (an action raised, a map's
branches failed); 130 interrupted.
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

from flowc.commands.arguments import (
    F_OUTPUT_FLAG,
    GivenValue,
    UsageError,
    add_state_arguments,
    check_output,
    did_you_mean,
    flow_search_path,
    given_state,
    listing,
    missing_flow_file,
    parse_pairs,
    resolve_state,
)
from flowc.errors import Diagnostic, FlowError, FlowRuntimeError

SUMMARY = "run a .flow file and print its final state as JSON"
EXIT_OK = 0
EXIT_ERRORS = 1
EXIT_USAGE = 2
EXIT_FAILED = 3
EXIT_INTERRUPTED = 130

F_UNKNOWN_INPUT = "F605"
F_UNKNOWN_HALT = "F606"
F_EXECUTOR_FLAG = "F607"
F_PERSIST_FLAG = "F608"
F_RESUME_FLAG = "F609"
F_TRACK_FLAG = "F610"


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
        "--halt-after",
        action="append",
        default=[],
        metavar="NAME",
        help="stop after the top-level step NAME runs (repeatable)",
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


# ---- names: --halt-after and --input ----------------------------------------------------------


def check_halt_after(ir: Any, names: Sequence[str]) -> list[Diagnostic]:
    """Each ``--halt-after`` must name a top-level step (a step inside a graph or map cannot
    stop the run: the application only sees the graph or map as one step)."""
    from flowc.compiler.ir import UnknownNode, iter_scopes

    steps = [node.name for node in ir.steps() if not isinstance(node, UnknownNode)]
    nested = {
        node.name: path[-1]
        for path, scope in iter_scopes(ir)
        if path
        for node in scope.steps()
        if node.name not in steps
    }
    problems = []
    for name in dict.fromkeys(names):
        if name in steps:
            continue
        hints = []
        if name in nested:
            hints.append(
                f"'{name}' is a step inside graph '{nested[name]}'; --halt-after takes a "
                f"top-level step (e.g. --halt-after {nested[name]})"
                if nested[name] in steps
                else f"'{name}' is a step inside graph '{nested[name]}', not a top-level step"
            )
        elif (close := did_you_mean(name, steps)) is not None:
            hints.append(f"did you mean '{close}'?")
        hints.append(f"the flow's steps: {listing(steps)}")
        problems.append(
            Diagnostic(
                F_UNKNOWN_HALT,
                f"--halt-after {name!r}: the flow has no top-level step '{name}'",
                hints=tuple(hints),
            )
        )
    return problems


def declared_inputs(ir: Any, app: Any = None) -> list[str]:
    """The runtime inputs some step takes: the .flow file's ``inputs`` and ``for x in input
    name`` (in every graph), plus the parameters the built top-level actions accept."""
    from flowc.compiler.ir import ActionNode, ItemsFromInput, MapNode, iter_scopes

    names: dict[str, None] = {}
    for _, scope in iter_scopes(ir):
        for node in [*scope.steps(), *scope.meta.declarations]:
            steps = [node]
            if isinstance(node, MapNode):
                steps += [branch.step for branch in node.branches]
                if node.items is not None and isinstance(node.items.source, ItemsFromInput):
                    names[node.items.source.input.name] = None
            for step in steps:
                if isinstance(step, ActionNode):
                    names.update(dict.fromkeys(step.input_keys))
    for action in app.graph.actions if app is not None else ():
        taken = action.inputs
        required, optional = taken if isinstance(taken, tuple) else (taken, [])
        names.update(dict.fromkeys(n for n in [*required, *optional] if not n.startswith("__")))
    return list(names)


def check_inputs(inputs: dict[str, GivenValue], known: Sequence[str]) -> list[Diagnostic]:
    problems = []
    for key, item in inputs.items():
        if key in known:
            continue
        hints = []
        if (close := did_you_mean(key, known)) is not None:
            hints.append(f"did you mean '{close}'?")
        hints.append(
            f"the flow's inputs: {listing(list(known))}"
            if known
            else "no step takes an input (declare one with `inputs NAME` on an action, or "
            "`for x in input NAME` on a map); to set a state field use --state"
        )
        problems.append(
            Diagnostic(
                F_UNKNOWN_INPUT,
                f"{item.origin}: no step of the flow takes an input '{key}'",
                hints=tuple(hints),
            )
        )
    return problems


# ---- resources: executor, database, tracking directory, output --------------------------------


def make_executor(spec: str | None) -> Any:
    if spec is None:
        return None
    kind, _, arg = spec.partition(":")
    if kind == "threads":
        from flowc.runtime.executors import MultiThreadedExecutor

        if not arg.strip().isdigit() or int(arg) < 1:
            raise UsageError(
                f"--executor threads:N needs a whole number N of at least 1, got {arg!r}",
                code=F_EXECUTOR_FLAG,
                hints=("write e.g. --executor threads:8",),
            )
        return MultiThreadedExecutor(max_concurrency=int(arg))
    if kind == "dask":
        return _dask_executor(spec, arg.strip())
    raise UsageError(
        f"--executor {spec!r}: unknown executor {kind!r}",
        code=F_EXECUTOR_FLAG,
        hints=("use threads:N (e.g. threads:8) or dask:ADDRESS (e.g. dask:tcp://127.0.0.1:8786)",),
    )


def _dask_executor(spec: str, address: str) -> Any:
    from flowc.runtime.flow_support import dask_executor

    if not address:
        raise UsageError(
            f"--executor {spec!r}: dask needs the scheduler's address",
            code=F_EXECUTOR_FLAG,
            hints=("write e.g. --executor dask:tcp://127.0.0.1:8786",),
        )
    try:
        return dask_executor(address)
    except FlowError as error:  # no `distributed`, no scheduler there, a bad address or timeout
        raise UsageError(
            f"--executor {spec!r}: {error.message}", code=F_EXECUTOR_FLAG, hints=error.hints
        ) from None
    except Exception as error:  # any other error of Dask's own
        raise UsageError(
            f"--executor {spec!r}: cannot connect to a Dask scheduler: {error}",
            code=F_EXECUTOR_FLAG,
            hints=(
                "start one with `dask scheduler` (it prints its tcp:// address) and give that "
                "address",
            ),
        ) from None


def make_persister(spec: str | None, resume: str | None) -> Any:
    """The SQLite persister, opened now (a path that cannot hold a database fails before the
    run); with ``resume``, the run must be in it."""
    if spec is None:
        if resume:
            raise UsageError(
                "--resume needs --persist sqlite:PATH (the database the run was saved in)",
                code=F_RESUME_FLAG,
                hints=(f"write e.g. --persist sqlite:runs.db --resume {resume}",),
            )
        return None
    kind, _, path = spec.partition(":")
    if kind != "sqlite" or not path:
        raise UsageError(
            f"--persist {spec!r}: flowc persists to SQLite only",
            code=F_PERSIST_FLAG,
            hints=("write --persist sqlite:PATH, e.g. --persist sqlite:runs.db",),
        )
    if resume and not Path(path).is_file():
        raise UsageError(
            f"--resume {resume}: there is no database {path!r} to resume from",
            code=F_RESUME_FLAG,
            hints=("give the --persist path the run was saved with",),
        )
    from flowc.runtime.persistence import SQLitePersister

    persister = SQLitePersister(path)
    try:
        persister.initialize()
        saved = persister.list_app_ids(None) if resume else []
    except FlowError as error:
        persister.cleanup()
        raise UsageError(
            f"--persist {spec!r}: {error.message}", code=F_PERSIST_FLAG, hints=error.hints
        ) from None
    if resume and resume not in saved:
        persister.cleanup()
        close = did_you_mean(resume, saved)
        hints = [f"did you mean {close}?"] if close else []
        hints.append(
            f"the runs saved there, latest first: {listing(saved, 5)}"
            if saved
            else "no run is saved there yet"
        )
        raise UsageError(
            f"--resume {resume}: no run with that app id is saved in {path}",
            code=F_RESUME_FLAG,
            hints=tuple(hints),
        )
    return persister


def prepare_track_dir(directory: str | None) -> None:
    """Create the tracking directory now, so a path that cannot hold one fails before the run."""
    if directory is None:
        return
    try:
        Path(directory).mkdir(parents=True, exist_ok=True)
        probe = Path(directory) / f".flowc-write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        raise UsageError(
            f"--track {directory}: cannot write there: {error.strerror or error}",
            code=F_TRACK_FLAG,
            hints=("give a directory you can write (it is created if missing)",),
        ) from None


# ---- progress ---------------------------------------------------------------------------------


class Progress:
    """Map progress on stderr: a redrawn line per running map on a terminal, otherwise one
    plain line when a map finishes. Thread-safe (branches finish on worker threads)."""

    def __init__(self, stream: TextIO, live: bool) -> None:
        self.stream: TextIO | None = stream
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
        if self.stream is None or (not final and (not self.live or now - self.last_draw < 0.05)):
            return
        self.last_draw = now
        line = describe_progress(map_name, self.maps[map_name], final)
        text = f"\r\x1b[2K{line}" + ("\n" if final else "") if self.live else line + "\n"
        try:
            self.stream.write(text)
            self.stream.flush()
        except OSError:  # the reader of stderr went away: the run goes on without progress
            self.stream = None


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

    sources: dict[str, str | None] = {}

    def report(error: FlowError) -> None:
        if error.source is not None and error.span is not None:
            sources.setdefault(error.span.file, error.source)
        print(render_report(error.diagnostics, sources), file=sys.stderr)

    early = [  # what can be judged without the flow, every problem reported at once
        lambda: given_state(args),
        lambda: parse_pairs(args.input, "--input"),
        lambda: make_persister(None, args.resume) if not args.persist else None,
        lambda: check_output(args.output, "the final state"),
    ]
    results, problems = [], []
    for check in early:
        try:
            results.append(check())
        except UsageError as error:
            if error.source is not None and error.span is not None:
                sources[error.span.file] = error.source
            problems.extend(error.diagnostics)
            results.append(None)
    if problems:
        report(UsageError(diagnostics=problems))
        return EXIT_USAGE
    given, inputs = results[0], results[1]
    missing = missing_flow_file(args.file)
    if missing is not None:
        report(missing)
        return EXIT_ERRORS
    sys.path[:0] = [p for p in flow_search_path(args.file) if p not in sys.path]
    try:
        compiled = compile_file(args.file)
    except FlowError as error:
        sources[str(args.file)] = error.source
        report(error)
        return EXIT_ERRORS
    sources[str(args.file)] = compiled.source
    if compiled.diagnostics:
        print(render_report(compiled.diagnostics, sources), file=sys.stderr)
    executor = persister = None
    try:  # what the flow says about the flags, then the resources the flags name
        state = check_against_flow(compiled, args, given, inputs)
        prepare_track_dir(args.track)
        executor = make_executor(args.executor)
        persister = make_persister(args.persist, args.resume)
    except UsageError as error:
        report(error)
        return EXIT_USAGE
    except FlowError as error:
        report(error)
        return EXIT_ERRORS
    try:
        return _run(
            compiled, args, state, {k: v.value for k, v in inputs.items()}, executor, persister
        )
    finally:
        close = getattr(persister, "close", None)
        if callable(close):
            close()


def check_against_flow(
    compiled: Any,
    args: argparse.Namespace,
    given: dict[str, GivenValue],
    inputs: dict[str, GivenValue],
) -> dict[str, Any]:
    """The checked state values; every unknown name or mistyped value, in one ``UsageError``."""
    problems = []
    state: dict[str, Any] = {}
    try:
        state = resolve_state(compiled.ir, given)
    except UsageError as error:
        problems.extend(error.diagnostics)
    known = declared_inputs(compiled.ir)
    if any(key not in known for key in inputs):  # perhaps a parameter the callable accepts
        known = declared_inputs(compiled.ir, compiled.build_application(state=state))
    problems += check_inputs(inputs, known)
    problems += check_halt_after(compiled.ir, args.halt_after)
    if problems:
        raise UsageError(diagnostics=problems)
    return state


def _run(
    compiled: Any,
    args: argparse.Namespace,
    state: dict[str, Any],
    inputs: dict[str, Any],
    executor: Any,
    persister: Any,
) -> int:
    from flowc.runtime.source_maps import describe_failure

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
    if args.resume:
        print(_resume_note(app), file=sys.stderr)
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
    except (Exception, SystemExit) as error:  # an action raised (or called sys.exit): reported
        print(describe_failure(error, full=args.traceback == "full"), file=sys.stderr)
        return _failed(app_id, persister)
    text = _state_json(final.get_all())
    if args.output is None:
        sys.stdout.write(text)
        return EXIT_OK
    try:
        args.output.write_text(text, encoding="utf-8")
    except OSError as error:
        sys.stdout.write(text)
        failure = UsageError(
            f"--output {args.output}: cannot write the final state there: {error.strerror}",
            code=F_OUTPUT_FLAG,
            hints=("the run finished; its final state is on stdout instead",),
        )
        print(str(failure), file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


def _state_json(values: dict[str, Any]) -> str:
    """The final state as JSON, other values as their ``repr``; a value JSON cannot write
    (nested too deeply, or holding itself) as a string saying so: a finished run always prints."""
    printable = {}
    for key, value in values.items():
        try:
            json.dumps(value, default=repr)
            printable[key] = value
        except (RecursionError, ValueError):
            kind = type(value).__name__
            printable[key] = f"<a {kind} nested too deeply to print as JSON, or holding itself>"
    return json.dumps(printable, indent=2, ensure_ascii=False, default=repr) + "\n"


def _resume_note(app: Any) -> str:
    """Where a resumed run picks up: at the step after the last one saved (a map's finished
    branches are not run again), or nowhere, when the saved run had already finished."""
    upcoming = app.get_next_action()
    if upcoming is None:
        return "flowc: this run had already finished; its saved final state follows"
    return f"flowc: resuming at '{upcoming.name}'; saved steps are not run again"


def _failed(app_id: str, persister: Any) -> int:
    if persister is not None:
        print(f"flowc: finished steps are saved; resume with --resume {app_id}", file=sys.stderr)
    return EXIT_FAILED
