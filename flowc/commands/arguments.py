"""Values given on the command line, and checking them against a flow: ``--state KEY=VALUE``
and ``--state-file`` (shared by ``flowc run`` and ``flowc plan``), ``KEY=VALUE`` pairs, the FILE
argument, an output file (``-o``) of any command, and ``UsageError``, the error of a flag value
flowc cannot use (codes F601–F611; the commands exit 2).

Every ``--state`` key must be a field of the flow's ``state { }`` block (or of an imported .flow
file's) and its value must have the field's declared type; the error points at the declaration.
A ``str`` field takes the text as typed (``--state topic=3`` is the string ``"3"``).
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import json
import os
import shlex
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flowc.errors import Diagnostic, FlowError, FlowSyntaxError, Related, Span

if TYPE_CHECKING:  # the compiler loads on use: `flowc --help` should not wait for it
    from flowc.compiler.value_types import ModelLookup, TypeProblem

F_UNREADABLE_FLOW = "F101"
F_BAD_PAIR = "F601"
F_STATE_FILE = "F602"
F_UNKNOWN_STATE_KEY = "F603"
F_STATE_TYPE = "F604"
F_OUTPUT_FLAG = "F611"


class UsageError(FlowError):
    """A command-line value flowc cannot use: an unknown name, a value of the wrong type, a path
    that cannot be read or written (codes F601–F611; the CLI exits 2)."""


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


# ---- output files -----------------------------------------------------------------------------


def check_output(output: Path | None, what: str) -> None:
    """An ``-o``/``--output`` that cannot be written fails before any work is done (F611).

    Every command that writes a file (``run``, ``compile``, ``render``) refuses the same way,
    and none creates missing directories: a typo in a path should not leave new folders about."""
    if output is None:
        return
    parent = output.parent if str(output.parent) else Path(".")
    reason = hint = None
    if output.is_dir():
        reason, hint = "it is a directory", f"name a file in it, e.g. {output / 'out'}"
    elif not parent.exists():
        reason = f"the directory {str(parent)!r} does not exist"
        hint = f"flowc creates no directories for its output: mkdir -p {shlex.quote(str(parent))}"
    elif not parent.is_dir():
        reason = f"{str(parent)!r} is not a directory"
    elif not os.access(parent, os.W_OK) or (output.exists() and not os.access(output, os.W_OK)):
        reason = "permission denied"
    if reason is not None:
        raise UsageError(
            f"-o/--output {output}: cannot write {what} there: {reason}",
            code=F_OUTPUT_FLAG,
            hints=(hint or "give a file path in an existing, writable directory",),
        )


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
    except RecursionError:
        raise UsageError(
            f"the value {text[:20]!r}… is nested too deeply to read",
            code=F_BAD_PAIR,
            hints=("give at most a few hundred levels of [ ] and { }",),
        ) from None


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
        try:
            values[key] = GivenValue(parse_value(text), text, f"{flag} {shlex.quote(pair)}")
        except UsageError as error:
            problems.extend(error.diagnostics)
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
    except RecursionError:
        raise UsageError(
            f"the state file {path} is nested too deeply to read",
            code=F_STATE_FILE,
            hints=("give at most a few hundred levels of [ ] and { }",),
        ) from None
    if not isinstance(loaded, dict):
        from flowc.compiler.value_types import describe_value

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


def did_you_mean(name: str, known: Iterable[str]) -> str | None:
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return close[0] if close else None


def listing(names: Sequence[str], limit: int = 12) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f", … ({len(names) - limit} more)" if len(names) > limit else "")


# ---- state values against the flow's schema ---------------------------------------------------


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
    from flowc.compiler.value_types import type_problem

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
        model_of = model_lookup(meta, import_python)
        problem = type_problem(value, spec.type, key, model_of, json_keys=True)
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


def model_lookup(meta: Any, import_python: bool) -> ModelLookup:
    """Finds an imported type by the name the .flow file uses (``None``: cannot tell)."""
    from flowc.compiler.value_types import imported_classes

    return imported_classes(meta, _import_class if import_python else None)


def _import_class(spec: Any) -> Any:
    try:
        return getattr(importlib.import_module(spec.module), spec.name, None)
    except Exception:  # the Python-side check reports modules that do not import
        return None


def state_type_error(key: str, item: GivenValue, spec: Any, problem: TypeProblem) -> Diagnostic:
    from flowc.compiler.value_types import CONTAINERS, SCALARS, example_value

    declared = str(spec.type)
    if problem.path == key:
        detail = f"got {problem.found()}"
    else:
        detail = f"but {problem.path} is {problem.found()} (expected {problem.expected})"
    example = example_value(spec.type)
    if item.text is None:
        fix = f'write e.g. "{key}": {json.dumps(example)} in the state file'
    else:
        shown = example if isinstance(example, str) else json.dumps(example)
        fix = f"write e.g. --state {shlex.quote(f'{key}={shown}')}"
    if spec.type.name.value not in (*SCALARS, *CONTAINERS):
        fix = f"give {key} a value that {declared} accepts"
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
