"""Map blocks the fast path builds without tokens: a plain header, option lines and ``}``.

A generated flow has a map block every few actions, five lines each::

    map m3 = [a3, a4(n=2) as b3] for item in items {
      max_concurrency 8
      retry 2 backoff 0.5s
      reduce out = collect(k1)
    }

Through tokens such a block costs as much as ten action lines. ``map_statement`` matches the
header with one regex and each line of the body with another (one alternative per option, a
``reduce`` line, a blank line or the closing ``}``), builds the ``MapDecl`` the builder would
build, and the LALR parser takes it as the reduced ``map_decl``, as it takes the one-line
statements of ``line_statements``.

The same rules hold: only the plainest form of each line is taken (ASCII names that are no
keyword, numbers without ``_``, signs or exponents, state or input items, field-name reducer
arguments, no comment, no continuation line, no ``executor``), and nothing that would make the
builder report an error (a map of one branch without ``for``, an option set twice, a unit where
none belongs, an out-of-range count or percentage, a built-in reducer with the wrong arguments).
Everything else is left to the token path, which owns every diagnostic;
``tests/compiler/test_map_statements.py`` compares the two, spans included.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from flowc.compiler import ast
from flowc.compiler.line_statements import (
    ARGUMENTS,
    CALLABLE,
    LINE_END,
    NAME,
    NAMES,
    SPACE,
    Line,
    bound_arguments,
    callable_ref,
    continued,
)
from flowc.errors import Span

_new_span = tuple.__new__  # Span's own __new__ is a Python function; this is ~2× faster

_BRANCH = rf"{CALLABLE}(?:{SPACE}*+{ARGUMENTS})?+(?:{SPACE}++as{SPACE}++{NAME})?+"
MAP_HEADER = re.compile(
    rf"map{SPACE}++(?P<name>{NAME}){SPACE}*+={SPACE}*+"
    rf"(?:(?P<list>\[{SPACE}*+{_BRANCH}(?:{SPACE}*+,{SPACE}*+{_BRANCH})*+{SPACE}*+,?+{SPACE}*+\])"
    rf"|(?P<branch>{_BRANCH}))"
    rf"(?:{SPACE}++(?P<for>for){SPACE}++(?P<var>{NAME}){SPACE}++in{SPACE}++"
    rf"(?:(?P<input>input){SPACE}++)?(?P<source>{NAME}))?+"
    rf"(?:{SPACE}*+(?P<open>\{{))?+" + LINE_END
)
_BRANCH_PARTS = re.compile(
    rf"(?P<target>{CALLABLE})(?:{SPACE}*+(?P<arguments>{ARGUMENTS}))?+"
    rf"(?:{SPACE}++as{SPACE}++(?P<alias>{NAME}))?+"
)

# Numbers as the NUMBER terminal writes them, in their plainest form: digits, an optional
# fraction, and a unit where one belongs (the lookahead keeps `1e3`, `2_0`, `5sx` out).
_COUNT = r"\d++(?![\w.%])"
_AMOUNT = r"\d++(?:\.\d++)?+"
_UNIT_END = r"(?![\w.%])"
_DURATION = rf"{_AMOUNT}(?:ms|s|m|h){_UNIT_END}"
_FIELD_PATH = rf"{NAME}(?:\.{NAME})*+"
_REDUCER_ARG = rf"(?:{NAME}{SPACE}*+={SPACE}*+)?+{_FIELD_PATH}"
# One line of a map body: the alternative that matched is the match's ``lastgroup`` (each one
# encloses its whole line, so it is the last group to close). Quantifiers are possessive where
# giving back could never let the rest match, as in ``line_statements``.
MAP_BODY_LINE = re.compile(
    rf"{SPACE}*+(?:"
    rf"(?P<max_concurrency>max_concurrency{SPACE}++(?P<concurrency>{_COUNT}))"
    rf"|(?P<retry>retry{SPACE}++(?P<attempts>{_COUNT})"
    rf"(?:{SPACE}++backoff{SPACE}++(?P<backoff>{_DURATION}))?+"
    rf"(?:{SPACE}++jitter{SPACE}++(?P<jitter>{_AMOUNT}(?:ms|s|m|h|%){_UNIT_END}))?+)"
    rf"|(?P<timeout>timeout{SPACE}++(?P<duration>{_DURATION}))"
    rf"|(?P<tolerate>tolerate{SPACE}++(?P<limit>{_AMOUNT}%?+{_UNIT_END}))"
    rf"|(?P<first_k>first{SPACE}++(?P<count>{_COUNT}))"
    rf"|(?P<tracker>tracker{SPACE}++(?P<tracker_mode>cascade|none)\b)"
    rf"|(?P<persister>persister{SPACE}++(?P<persister_mode>cascade|none)\b)"
    rf"|(?P<task_key>key{SPACE}++(?P<key>{CALLABLE}))"
    rf"|(?P<reduce>reduce{SPACE}++(?P<targets>{NAMES}){SPACE}*+={SPACE}*+(?P<reducer>{CALLABLE})"
    rf"(?:{SPACE}*+(?P<arguments>\({SPACE}*+"
    rf"(?:{_REDUCER_ARG}(?:{SPACE}*+,{SPACE}*+{_REDUCER_ARG})*+{SPACE}*+,?+{SPACE}*+)?+\)))?+)"
    rf"|(?P<close>\}})"
    rf"|(?P<blank>)"
    rf"){LINE_END}"
)
_NAME_PARTS = re.compile(NAME)
_REDUCER_ARG_PARTS = re.compile(rf"(?:(?P<name>{NAME}){SPACE}*={SPACE}*)?(?P<path>{_FIELD_PATH})")

_Name = ast.positional(ast.Name)
_Branch = ast.positional(ast.Branch)
_ForClause = ast.positional(ast.ForClause)
_StateItems = ast.positional(ast.StateItems)
_InputItems = ast.positional(ast.InputItems)
_MaxConcurrency = ast.positional(ast.MaxConcurrency)
_Duration = ast.positional(ast.Duration)
_Percent = ast.positional(ast.Percent)
_Retry = ast.positional(ast.Retry)
_Timeout = ast.positional(ast.Timeout)
_Tolerate = ast.positional(ast.Tolerate)
_FirstK = ast.positional(ast.FirstK)
_Tracker = ast.positional(ast.Tracker)
_Persister = ast.positional(ast.Persister)
_TaskKey = ast.positional(ast.TaskKey)
_FieldPath = ast.positional(ast.FieldPath)
_Reduce = ast.positional(ast.Reduce)
_ReducerArg = ast.positional(ast.ReducerArg)
_MapDecl = ast.positional(ast.MapDecl)


def map_statement(
    text: str, position: int, where: Line, words: Mapping[str, str], builder: Any
) -> tuple[str, Any, int] | None:
    """``("map_decl", node, end)`` for a plain map block starting at ``position``, or ``None``
    to let the token path parse it. A block over several lines moves ``where`` to its last
    line (the ``}``). ``builder`` is unused: the signature is ``line_statement``'s."""
    header = MAP_HEADER.match(text, position)
    if header is None:
        return None
    name_text = header.group("name")
    if name_text in words:
        return None
    file, line, offset = where.file, where.line, where.line_start - 1
    list_start, list_end = header.span("list")
    if list_start >= 0:
        branches = _branches(text, list_start + 1, list_end - 1, where, words)
        last_end = list_end
    else:
        branch_start, last_end = header.span("branch")
        branches = _branches(text, branch_start, last_end, where, words)
    if branches is None:
        return None
    if header.start("for") >= 0:
        items = _for_clause(header, where, words)
        if items is None:
            return None
        last_end = header.end("source")
        kind = ast.MapKind.PRODUCT if list_start >= 0 else ast.MapKind.STATES
    elif list_start >= 0:
        items = None
        kind = ast.MapKind.ACTIONS
    else:
        return None  # one branch without `for`: the builder reports it
    end = header.end()
    end_line, end_line_start, end_col = line, where.line_start, last_end - offset
    options: tuple[Any, ...] = ()
    reduces: tuple[ast.Reduce, ...] = ()
    if header.start("open") >= 0:
        body = _body(text, end, file, line, words)
        if body is None:
            return None
        options, reduces, close_end, end, end_line, end_line_start = body
        end_col = close_end - end_line_start + 1
    if continued(text, end + 1):
        return None
    name_start, name_end = header.span("name")
    name = _Name(
        name_text, _new_span(Span, (file, line, name_start - offset, line, name_end - offset))
    )
    span = _new_span(Span, (file, line, header.start() - offset, end_line, end_col))
    node = _MapDecl(name, kind, branches, items, options, reduces, span)
    where.line, where.line_start = end_line, end_line_start
    return "map_decl", node, end


def _branches(
    text: str, start: int, end: int, where: Line, words: Mapping[str, str]
) -> tuple[ast.Branch, ...] | None:
    """The branches written between ``start`` and ``end`` (checked by ``MAP_HEADER``)."""
    file, line, offset = where.file, where.line, where.line_start - 1
    branches = []
    for part in _BRANCH_PARTS.finditer(text, start, end):
        target = _callable_in(part, "target", file, line, offset, words)
        if target is None:
            return None
        target_start, last_end = part.span("target")
        arguments: tuple[ast.Argument, ...] | None = ()
        arguments_start, arguments_end = part.span("arguments")
        if arguments_start >= 0:
            arguments = bound_arguments(
                text, arguments_start, arguments_end, file, line, offset, words
            )
            if arguments is None:
                return None
            last_end = arguments_end
        alias = None
        alias_start, alias_end = part.span("alias")
        if alias_start >= 0:
            alias_text = part.group("alias")
            if alias_text in words:
                return None
            alias = _Name(
                alias_text,
                _new_span(Span, (file, line, alias_start - offset, line, alias_end - offset)),
            )
            last_end = alias_end
        span = _new_span(Span, (file, line, target_start - offset, line, last_end - offset))
        branches.append(_Branch(target, arguments, alias, span))
    return tuple(branches)


def _for_clause(
    header: re.Match[str], where: Line, words: Mapping[str, str]
) -> ast.ForClause | None:
    var, source = header.group("var", "source")
    if var in words or source in words:
        return None
    file, line, offset = where.file, where.line, where.line_start - 1
    var_start, var_end = header.span("var")
    source_start, source_end = header.span("source")
    key = _Name(
        source, _new_span(Span, (file, line, source_start - offset, line, source_end - offset))
    )
    input_start = header.start("input")
    if input_start >= 0:
        span = _new_span(Span, (file, line, input_start - offset, line, source_end - offset))
        items: ast.ItemSource = _InputItems(key, span)
    else:
        items = _StateItems(key, key.span)
    return _ForClause(
        _Name(var, _new_span(Span, (file, line, var_start - offset, line, var_end - offset))),
        items,
        _new_span(Span, (file, line, header.start("for") - offset, line, source_end - offset)),
    )


def _body(
    text: str, position: int, file: str, line: int, words: Mapping[str, str]
) -> tuple[tuple[Any, ...], tuple[ast.Reduce, ...], int, int, int, int] | None:
    """``(options, reduces, close_end, end, line, line_start)`` of the body whose ``{`` ends
    ``line`` at ``position``: the lines up to the closing ``}``, which ends at ``close_end`` (the
    line's spaces at ``end``) on ``line``, starting at ``line_start``."""
    options: list[Any] = []
    reduces: list[ast.Reduce] = []
    kinds: set[str] = set()
    while text.startswith("\n", position):
        line += 1
        line_start = position + 1
        match = MAP_BODY_LINE.match(text, line_start)
        if match is None:
            return None
        position = match.end()
        kind = match.lastgroup
        if kind == "blank":
            continue
        if kind == "close":
            close_end = match.end(kind)
            return tuple(options), tuple(reduces), close_end, position, line, line_start
        if kind == "reduce":
            reduce = _reduce(text, match, Line(file, line, line_start), words)
            if reduce is None:
                return None
            reduces.append(reduce)
            continue
        assert kind is not None  # every alternative is a group
        if kind in kinds:
            return None  # an option set twice: the builder reports it
        kinds.add(kind)
        option = _option(kind, match, file, line, line_start - 1, words)
        if option is None:
            return None
        options.append(option)
    return None  # the end of the text inside the block


def _option(
    kind: str, match: re.Match[str], file: str, line: int, offset: int, words: Mapping[str, str]
) -> Any:
    """The option node of a ``MAP_BODY_LINE`` match of ``kind``, or ``None`` when the builder
    would report its value."""
    start, end = match.span(kind)
    span = _new_span(Span, (file, line, start - offset, line, end - offset))
    try:
        return _option_node(kind, match, span, file, line, offset, words)
    except ValueError:  # a number with more digits than int() reads: the builder reports it
        return None


def _option_node(
    kind: str,
    match: re.Match[str],
    span: Span,
    file: str,
    line: int,
    offset: int,
    words: Mapping[str, str],
) -> Any:
    if kind == "max_concurrency":
        value = int(match.group("concurrency"))
        return None if value < 1 else _MaxConcurrency(value, span)
    if kind == "retry":
        backoff = jitter = None
        if match.start("backoff") >= 0:
            backoff = _measure(match, "backoff", file, line, offset)
        if match.start("jitter") >= 0:
            jitter = _measure(match, "jitter", file, line, offset)
            if jitter is None:
                return None
        return _Retry(int(match.group("attempts")), backoff, jitter, span)
    if kind == "timeout":
        return _Timeout(_measure(match, "duration", file, line, offset), span)
    if kind == "tolerate":
        limit = _measure(match, "limit", file, line, offset)
        return None if limit is None else _Tolerate(limit, span)
    if kind == "first_k":
        count = int(match.group("count"))
        return None if count < 1 else _FirstK(count, span)
    if kind == "tracker":
        return _Tracker(match.group("tracker_mode"), span)
    if kind == "persister":
        return _Persister(match.group("persister_mode"), span)
    # task_key
    ref = _callable_in(match, "key", file, line, offset, words)
    if ref is None:
        return None
    key = ref if ref.module is not None else _FieldPath((ref.name,), ref.span)
    return _TaskKey(key, span)


def _measure(match: re.Match[str], group: str, file: str, line: int, offset: int) -> Any:
    """A count, ``Duration`` or ``Percent`` as the builder makes it from a NUMBER token, or
    ``None`` for a percentage above 100 % or a fraction where a count belongs."""
    written = match.group(group)
    digits = written.rstrip("mhs%")
    unit = written[len(digits) :]
    amount: int | float = float(digits) if "." in digits else int(digits)
    start, end = match.span(group)
    span = _new_span(Span, (file, line, start - offset, line, end - offset))
    if unit == "%":
        return None if amount > 100 else _Percent(amount, span)
    if unit:  # a duration; one too long to wait for is the builder's to report
        return _Duration(amount, unit, span) if ast.waitable(amount, unit) else None
    return amount if type(amount) is int else None


def _reduce(
    text: str, match: re.Match[str], where: Line, words: Mapping[str, str]
) -> ast.Reduce | None:
    file, line, offset = where.file, where.line, where.line_start - 1
    targets = []
    for part in _NAME_PARTS.finditer(text, *match.span("targets")):
        if part.group() in words:
            return None
        start, end = part.span()
        span = _new_span(Span, (file, line, start - offset, line, end - offset))
        targets.append(_Name(part.group(), span))
    reducer = _callable_in(match, "reducer", file, line, offset, words)
    if reducer is None:
        return None
    end = match.end("reducer")
    arguments: tuple[ast.ReducerArg, ...] | None = None
    arguments_start, arguments_end = match.span("arguments")
    if arguments_start >= 0:
        arguments = _reducer_arguments(text, arguments_start, arguments_end, where, words)
        if arguments is None:
            return None
        end = arguments_end
    if reducer.module is None and reducer.name in ast.BUILTIN_REDUCER_ARITY:
        fewest, most = ast.BUILTIN_REDUCER_ARITY[reducer.name]
        given = len(arguments or ())
        if len(targets) != 1 or not fewest <= given <= most or (arguments is None and fewest):
            return None  # the builder reports the wrong shape
        if reducer.name != "records" and any(a.name is not None for a in arguments or ()):
            return None
    start = match.start("reduce")
    span = _new_span(Span, (file, line, start - offset, line, end - offset))
    return _Reduce(tuple(targets), reducer, arguments, span)


def _reducer_arguments(
    text: str, start: int, end: int, where: Line, words: Mapping[str, str]
) -> tuple[ast.ReducerArg, ...] | None:
    """Field-name arguments, each ``path`` or ``name=path`` (``records``)."""
    file, line, offset = where.file, where.line, where.line_start - 1
    arguments = []
    for part in _REDUCER_ARG_PARTS.finditer(text, start, end):
        path = part.group("path")
        parts = tuple(path.split("."))
        if any(word in words for word in parts):
            return None
        path_start, path_end = part.span("path")
        value = _FieldPath(
            parts, _new_span(Span, (file, line, path_start - offset, line, path_end - offset))
        )
        name = None
        name_start, name_end = part.span("name")
        if name_start >= 0:
            if part.group("name") in words:
                return None
            name = _Name(
                part.group("name"),
                _new_span(Span, (file, line, name_start - offset, line, name_end - offset)),
            )
            path_start = name_start
        span = _new_span(Span, (file, line, path_start - offset, line, path_end - offset))
        arguments.append(_ReducerArg(value, name, span))
    return tuple(arguments)


def _callable_in(
    match: re.Match[str],
    group: str,
    file: str,
    line: int,
    offset: int,
    words: Mapping[str, str],
) -> ast.CallableRef | None:
    """The callable reference ``match`` captured in ``group`` (None if a part is a keyword)."""
    start, end = match.span(group)
    span = _new_span(Span, (file, line, start - offset, line, end - offset))
    return callable_ref(match.group(group), span, words)
