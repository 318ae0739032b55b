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
(codes F601–F611, exit 2).

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
import difflib
import importlib
import json
import os
import shlex
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from flowc.errors import Diagnostic, FlowError, FlowRuntimeError, FlowSyntaxError, Related, Span

SUMMARY = "run a .flow file and print its final state as JSON"
EXIT_OK = 0
EXIT_ERRORS = 1
EXIT_USAGE = 2
EXIT_FAILED = 3
EXIT_INTERRUPTED = 130

F_UNREADABLE_FLOW = "F101"
F_BAD_PAIR = "F601"
F_STATE_FILE = "F602"
F_UNKNOWN_STATE_KEY = "F603"
F_STATE_TYPE = "F604"
F_UNKNOWN_INPUT = "F605"
F_UNKNOWN_HALT = "F606"
F_EXECUTOR_FLAG = "F607"
F_PERSIST_FLAG = "F608"
F_RESUME_FLAG = "F609"
F_TRACK_FLAG = "F610"
F_OUTPUT_FLAG = "F611"


class UsageError(FlowError):
    """A command-line value flowc cannot use: an unknown name, a value of the wrong type, a path
    that cannot be read or written (codes F601–F611; the CLI exits 2)."""


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


def add_state_arguments(parser: argparse.ArgumentParser) -> None:
    """``--state key=value`` and ``--state-file``, shared with ``flowc plan``."""
    parser.add_argument(
        "--state",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set a declared state field (repeatable); the value is JSON if it parses, else a "
        "string (always the text for a `str` field)",
    )
    parser.add_argument(
        "--state-file", type=Path, metavar="FILE", help="a JSON object of state fields"
    )


def register(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("run", help=SUMMARY, description=SUMMARY)
    parser.set_defaults(handler=add_arguments(parser))
    return parser


# ---- values from the command line -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GivenValue:
    """A state field or input as the user gave it: the parsed value, the text typed (``None``
    when it came from a state file) and where it came from (``--state round=x``), for errors."""

    value: Any
    text: str | None
    origin: str


def parse_value(text: str) -> Any:
    """JSON when it parses (``3``, ``true``, ``["a"]``), else the text itself."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_pairs(pairs: Sequence[str], flag: str) -> dict[str, GivenValue]:
    """``KEY=VALUE`` flags by key (a later flag wins); every malformed one is reported."""
    values: dict[str, GivenValue] = {}
    problems: list[Diagnostic] = []
    for pair in pairs:
        key, sep, text = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            problems.append(
                Diagnostic(
                    F_BAD_PAIR,
                    f"{flag} {pair!r} is not KEY=VALUE",
                    hints=(f"write {flag} KEY=VALUE, e.g. {flag} n=3",),
                )
            )
            continue
        values[key] = GivenValue(parse_value(text), text, f"{flag} {shlex.quote(pair)}")
    if problems:
        raise UsageError(diagnostics=problems)
    return values


def read_state_file(path: Path) -> dict[str, GivenValue]:
    """The JSON object in ``path``; a syntax error points at its line and column."""
    origin = f"--state-file {path}"
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "it is not UTF-8 text"
        raise UsageError(
            f"cannot read the state file {path}: {reason}",
            code=F_STATE_FILE,
            hints=('give a readable JSON file holding one object, e.g. {"round": 3}',),
        ) from None
    try:
        loaded = json.loads(text)
    except json.JSONDecodeError as error:
        raise UsageError(
            f"the state file {path} is not valid JSON: {error.msg}",
            code=F_STATE_FILE,
            span=Span(str(path), error.lineno, error.colno),
            hints=('the file must hold one JSON object, e.g. {"round": 3}',),
            source=text,
        ) from None
    if not isinstance(loaded, dict):
        raise UsageError(
            f"the state file {path} must hold a JSON object, not {describe_value(loaded)}",
            code=F_STATE_FILE,
            hints=('write the fields as one object, e.g. {"round": 3}',),
        )
    return {key: GivenValue(value, None, origin) for key, value in loaded.items()}


def given_state(args: argparse.Namespace) -> dict[str, GivenValue]:
    """``--state-file`` values, overridden by ``--state`` flags."""
    values = read_state_file(args.state_file) if args.state_file is not None else {}
    values.update(parse_pairs(args.state, "--state"))
    return values


def describe_value(value: Any) -> str:
    """A JSON value in words: ``the string 'x'``, ``the integer 3``, ``a list of 2 items``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {json.dumps(value)}"
    if isinstance(value, int):
        return f"the integer {value}"
    if isinstance(value, float):
        return f"the number {value!r}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"the string {shown!r}"
    if isinstance(value, list):
        return f"a list of {len(value)} item{'s' if len(value) != 1 else ''}"
    if isinstance(value, dict):
        return "an object"
    return f"a {type(value).__name__}"


def did_you_mean(name: str, known: Iterable[str]) -> str | None:
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return close[0] if close else None


def listing(names: Sequence[str], limit: int = 12) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f", … ({len(names) - limit} more)" if len(names) > limit else "")


# ---- state values against the flow's schema ---------------------------------------------------

ModuleLookup = Callable[[str], Any]


@dataclass(frozen=True, slots=True)
class TypeProblem:
    """Where in a value the type first fails (``xs[1]``), what it found, what it expected."""

    path: str
    found: str
    expected: str


SCALARS: dict[str, Callable[[Any], bool]] = {
    "str": lambda v: isinstance(v, str),
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "float": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "bool": lambda v: isinstance(v, bool),
}


def declared_fields(ir: Any) -> dict[str, tuple[Any, Any]]:
    """Every state field the flow declares (its own first, then imported .flow files'), as
    ``name -> (StateFieldSpec, FlowMeta of the file that declares it)``."""
    from flowc.compiler.ir import iter_scopes

    fields: dict[str, tuple[Any, Any]] = {}
    for _, scope in iter_scopes(ir):
        for spec in scope.meta.schema:
            fields.setdefault(spec.name, (spec, scope.meta))
    return fields


def resolve_state(
    ir: Any, given: dict[str, GivenValue], *, import_python: bool = True
) -> dict[str, Any]:
    """The state values to start from, each checked against its declared field: an unknown key
    (F603) or a value of the wrong type (F604) is a ``UsageError`` listing every such problem.
    A ``str`` field takes the text as typed (``--state topic=3`` is the string ``"3"``)."""
    fields = declared_fields(ir)
    values: dict[str, Any] = {}
    problems: list[Diagnostic] = []
    for key, item in given.items():
        found = fields.get(key)
        if found is None:
            problems.append(unknown_state_key(key, item, fields))
            continue
        spec, meta = found
        value = item.value
        if item.text is not None and takes_text(spec.type, value):
            value = item.text
        problem = type_problem(value, spec.type, key, model_lookup(meta, import_python))
        if problem is None:
            values[key] = value
        else:
            problems.append(state_type_error(key, item, spec, problem))
    if problems:
        raise UsageError(diagnostics=problems)
    return values


def takes_text(ref: Any, value: Any) -> bool:
    """Whether a typed text should stay text: the field is ``str`` (or ``optional[str]`` and
    the text is not ``null``) and the text happens to parse as some other JSON value."""
    name = ref.name.value
    if name == "optional" and ref.args:
        return value is not None and takes_text(ref.args[0], value)
    return name == "str" and not isinstance(value, str)


def type_problem(value: Any, ref: Any, path: str, model_of: ModuleLookup) -> TypeProblem | None:
    """Why ``value`` is not of the declared type ``ref``, or ``None`` when it is."""
    name = ref.name.value
    args = ref.args
    if name == "any":
        return None
    if name == "optional":
        return None if value is None or not args else type_problem(value, args[0], path, model_of)
    if name in SCALARS:
        ok = SCALARS[name](value)
        return None if ok else TypeProblem(path, describe_value(value), name)
    if name == "list":
        if not isinstance(value, list):
            return TypeProblem(path, describe_value(value), str(ref))
        for index, item in enumerate(value):
            found = args and type_problem(item, args[0], f"{path}[{index}]", model_of)
            if found:
                return found
        return None
    if name == "dict":
        if not isinstance(value, dict):
            return TypeProblem(path, describe_value(value), str(ref))
        for key, item in value.items():
            if len(args) == 2:
                key_value = key if args[0].name.value in ("str", "any") else parse_value(key)
                found = type_problem(key_value, args[0], f"a key of {path}", model_of)
                found = found or type_problem(item, args[1], f"{path}[{key!r}]", model_of)
                if found:
                    return found
        return None
    return model_problem(value, name, path, model_of)


def model_problem(value: Any, name: str, path: str, model_of: ModuleLookup) -> TypeProblem | None:
    """A value for an imported type: validated by pydantic (a ``BaseModel``), by value (an
    ``Enum``); other classes, and models that cannot be imported, are not checked."""
    model = model_of(name)
    if model is None:
        return None
    validate = getattr(model, "model_validate", None)
    if callable(validate):
        try:
            validate(value)
        except Exception as error:  # pydantic's ValidationError; any failure means "not valid"
            return TypeProblem(
                path, f"{describe_value(value)} ({first_pydantic_error(error)})", name
            )
        return None
    import enum

    if isinstance(model, type) and issubclass(model, enum.Enum):
        try:
            model(value)
        except ValueError:
            choices = ", ".join(json.dumps(m.value, default=repr) for m in model)
            return TypeProblem(path, f"{describe_value(value)} (one of {choices})", name)
    return None


def first_pydantic_error(error: Exception) -> str:
    errors = getattr(error, "errors", None)
    try:
        first = errors()[0] if callable(errors) else None
    except Exception:  # not pydantic's error after all
        first = None
    if not first:
        return str(error).splitlines()[0]
    where = ".".join(str(part) for part in first.get("loc", ()))
    return f"{where}: {first.get('msg', '')}" if where else str(first.get("msg", ""))


def model_lookup(meta: Any, import_python: bool) -> ModuleLookup:
    """Finds an imported type by the name the .flow file uses (``None``: cannot tell)."""
    from flowc.compiler.ir import PythonImport

    imports = {i.local: i for i in meta.imports if isinstance(i, PythonImport)}

    def lookup(name: str) -> Any:
        found = imports.get(name)
        if found is None or not import_python:
            return None
        try:
            return getattr(importlib.import_module(found.module), found.name, None)
        except Exception:  # the Python-side check reports modules that do not import
            return None

    return lookup


def example_value(ref: Any) -> Any:
    """A JSON value of type ``ref``, for hints."""
    name = ref.name.value
    args = ref.args
    examples = {"str": "text", "int": 3, "float": 0.5, "bool": True, "any": 1}
    if name in examples:
        return examples[name]
    if name == "optional" and args:
        return example_value(args[0])
    if name == "list":
        return [example_value(args[0])] if args else []
    if name == "dict" and len(args) == 2:
        key = example_value(args[0])
        return {key if isinstance(key, str) else json.dumps(key): example_value(args[1])}
    return {}


def state_type_error(key: str, item: GivenValue, spec: Any, problem: TypeProblem) -> Diagnostic:
    declared = str(spec.type)
    if problem.path == key:
        detail = f"got {problem.found}"
    else:
        detail = f"but {problem.path} is {problem.found} (expected {problem.expected})"
    example = example_value(spec.type)
    if item.text is None:
        fix = f'write e.g. "{key}": {json.dumps(example)} in the state file'
    else:
        shown = example if isinstance(example, str) else json.dumps(example)
        fix = f"write e.g. --state {shlex.quote(f'{key}={shown}')}"
    if spec.type.name.value not in (SCALARS.keys() | {"list", "dict", "optional", "any"}):
        fix = f"give {key} as a JSON object that {declared} accepts"
    span = spec.type.span if spec.type.span.file == spec.span.file else spec.span
    return Diagnostic(
        F_STATE_TYPE,
        f"{item.origin}: the state field '{key}' is declared `{declared}`, {detail}",
        span,
        hints=(fix,),
    )


def unknown_state_key(key: str, item: GivenValue, fields: dict[str, tuple[Any, Any]]) -> Diagnostic:
    hints = []
    related: tuple[Related, ...] = ()
    close = did_you_mean(key, fields)
    if close is not None:
        hints.append(f"did you mean '{close}'?")
        related = (Related(f"'{close}' is declared here", fields[close][0].span),)
    if fields:
        hints.append(f"the flow's state declares: {listing(list(fields))}")
    else:
        hints.append("the flow has no `state { }` block: declare the field there to set it")
    return Diagnostic(
        F_UNKNOWN_STATE_KEY,
        f"{item.origin}: the flow's state declares no field '{key}'",
        hints=tuple(hints),
        related=related,
    )


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
    from flowc.compiler.build import dask_executor

    if not address:
        raise UsageError(
            f"--executor {spec!r}: dask needs the scheduler's address",
            code=F_EXECUTOR_FLAG,
            hints=("write e.g. --executor dask:tcp://127.0.0.1:8786",),
        )
    try:
        return dask_executor(address)
    except FlowError as error:  # `distributed` is not installed
        raise UsageError(
            f"--executor {spec!r}: {error.message}", code=F_EXECUTOR_FLAG, hints=error.hints
        ) from None
    except Exception as error:  # Dask's own errors: a bad address, no scheduler there
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


def check_output(output: Path | None) -> None:
    """An ``--output`` that cannot be written fails before the run, not after it."""
    if output is None:
        return
    parent = output.parent if str(output.parent) else Path(".")
    reason = None
    if output.is_dir():
        reason = "it is a directory"
    elif not parent.is_dir():
        reason = f"the directory {str(parent)!r} does not exist"
    elif not os.access(parent, os.W_OK) or (output.exists() and not os.access(output, os.W_OK)):
        reason = "permission denied"
    if reason is not None:
        raise UsageError(
            f"--output {output}: cannot write the final state there: {reason}",
            code=F_OUTPUT_FLAG,
            hints=("give a file path in an existing, writable directory",),
        )


def flow_search_path(flow_file: Path) -> list[str]:
    """What ``flowc run`` puts in front of ``sys.path``: the flow's directory, then the cwd."""
    return list(dict.fromkeys([str(flow_file.resolve().parent), os.getcwd()]))


def missing_flow_file(path: Path) -> FlowError | None:
    """A FILE argument that is not a readable file, with the nearest .flow files as hints."""
    if path.is_file():
        return None
    reason = "it is a directory" if path.is_dir() else "no such file"
    hints = []
    folder = path.parent if path.parent.is_dir() else None
    if folder is not None and not path.is_dir():
        candidates = sorted(p.name for p in folder.glob("*.flow"))
        close = did_you_mean(path.name, candidates)
        if close is not None:
            hints.append(f"did you mean {folder / close}?")
    if path.is_dir():
        inside = sorted(str(p) for p in path.glob("*.flow"))
        if inside:
            hints.append(f"the .flow files there: {listing(inside, 5)}")
    hints.append("give the path of a .flow file")
    return FlowSyntaxError(f"cannot read {path}: {reason}", code=F_UNREADABLE_FLOW, hints=hints)


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

    sources: dict[str, str | None] = {}

    def report(error: FlowError) -> None:
        if error.source is not None and error.span is not None:
            sources.setdefault(error.span.file, error.source)
        print(render_report(error.diagnostics, sources), file=sys.stderr)

    try:  # what can be judged without the flow
        given = given_state(args)
        inputs = parse_pairs(args.input, "--input")
        if args.resume and not args.persist:
            make_persister(None, args.resume)
        check_output(args.output)
    except UsageError as error:
        report(error)
        return EXIT_USAGE
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
        sys.stdout.write(text)
        failure = UsageError(
            f"--output {args.output}: cannot write the final state there: {error.strerror}",
            code=F_OUTPUT_FLAG,
            hints=("the run finished; its final state is on stdout instead",),
        )
        print(str(failure), file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


def _failed(app_id: str, persister: Any) -> int:
    if persister is not None:
        print(f"flowc: finished steps are saved; resume with --resume {app_id}", file=sys.stderr)
    return EXIT_FAILED
