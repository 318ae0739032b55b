"""Whole-line statements the fast path builds without tokens: plain actions and transitions.

Large flows are mostly one-line ``action a = f(n=1) reads x writes y`` declarations and
``a -> b when cond`` transitions. ``fast_path`` offers every line that starts a statement to
``line_statement``; when the whole line is one of these two shapes in their plainest form, the
node is built here directly from one regex match, and the LALR parser takes it as the reduced
nonterminal (``action_decl`` or ``transition``), skipping a token and a reduce per word.

Anything less plain — a unit, an escape, a list value, a keyword used as a name, a non-ASCII
name, a comment, a clause on the next line, a misplaced ``start``/``end`` — is left to the token
path, which owns every diagnostic. So this module never reports an error (a condition's own
errors come from the same builder method the token path calls), and it must build exactly the
node the token path builds: ``tests/compiler/test_line_statements.py`` compares the two, spans
included, on chosen and generated lines, as ``test_fast_path.py`` does on every example.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from flowc.compiler import ast
from flowc.errors import Span
from flowc.grammar.newlines import CONTINUATION, CONTINUATION_FIRST

_new_span = tuple.__new__  # Span's own __new__ is a Python function; this is ~2× faster

# Pieces of the one-line patterns, shared with ``map_statements``: the grammar's terminals in
# the plainest forms the one-line paths accept (anything else goes to the token path). Every
# quantifier that cannot give anything back to what follows it is possessive (``*+``, ``++``,
# ``?+``): the match is the same, and the engine keeps no backtracking state (the action line's
# match costs a third fewer instructions, a conditional transition's two thirds fewer).
SPACE = r"[ \t\f]"
NAME = r"[A-Za-z_][A-Za-z0-9_]*+"  # ASCII only (the token path takes the rest): faster
_VALUE = r"""(?:"[^"\\\n]*+"|'[^'\\\n]*+'|[+-]?+\d++(?:\.\d++)?+(?![\w.%])|[A-Za-z]++)"""
_ARGUMENT = rf"{NAME}{SPACE}*+={SPACE}*+{_VALUE}"
NAMES = rf"{NAME}(?:{SPACE}*+,{SPACE}*+{NAME})*+"
CALLABLE = rf"{NAME}(?:(?:\.{NAME})*+:{NAME})?+"  # `name` or `package.module:function`
ARGUMENTS = (
    rf"\({SPACE}*+(?:{_ARGUMENT}(?:{SPACE}*+,{SPACE}*+{_ARGUMENT})*+{SPACE}*+,?+{SPACE}*+)?+\)"
)
LINE_END = rf"{SPACE}*+(?=\n|\Z)"

# Its optional parts are written `(?:part|)`, not `(?:part)?+`: the same match (giving the part
# back could never let the rest match), and sre runs a branch for less than a repeat (an action
# line's match 9.0k instructions -> 8.3k).
ACTION_LINE = re.compile(
    rf"action{SPACE}++(?P<name>{NAME}){SPACE}*+={SPACE}*+(?P<target>{CALLABLE})"
    # One or two arguments are captured whole; more are taken apart by _ARGUMENT_PARTS.
    rf"(?:{SPACE}*+(?P<arguments>\({SPACE}*+(?P<key>{NAME}){SPACE}*+={SPACE}*+(?P<value>{_VALUE})"
    rf"(?:{SPACE}*+,{SPACE}*+(?P<key2>{NAME}){SPACE}*+={SPACE}*+(?P<value2>{_VALUE})|)"
    rf"{SPACE}*+,?+{SPACE}*+\)|{ARGUMENTS})|)"
    # The commonest clauses, `reads k` and/or `writes k` with one key each, are captured whole;
    # any other clauses are taken apart by _CLAUSE_PARTS.
    rf"(?P<clauses>(?:{SPACE}++reads{SPACE}++(?P<read>{NAME})|)"
    rf"(?:{SPACE}++writes{SPACE}++(?P<write>{NAME})|)"
    rf"(?={LINE_END})|(?:{SPACE}++(?:reads|writes|inputs){SPACE}++{NAMES})*+)" + LINE_END
)
_CONDITION = r"""(?![ \t])(?:[^\n#"'}]++|"(?:[^"\\\n]++|\\[^\n])*+"|'(?:[^'\\\n]++|\\[^\n])*+')++"""
TRANSITION_LINE = re.compile(
    rf"(?P<source>{NAME}){SPACE}*+->{SPACE}*+(?P<target>{NAME})"
    rf"(?P<chain>(?:{SPACE}*+->{SPACE}*+{NAME})*+)"
    rf"(?:{SPACE}++(?P<when>when){SPACE}++(?P<condition>{_CONDITION})|{SPACE}*+)(?=\n|\Z)"
)
_ARGUMENT_PARTS = re.compile(rf"(?P<key>{NAME}){SPACE}*={SPACE}*(?P<value>{_VALUE})")
_CLAUSE_PARTS = re.compile(rf"(?P<clause>reads|writes|inputs){SPACE}|(?P<name>{NAME})")
_CHAIN_PARTS = re.compile(NAME)
_CONTINUATION_FIRST = frozenset(CONTINUATION_FIRST)


class Line:
    """Where a statement's line is: its number in ``file`` and the offset of its first character
    in the text (``plain_lines`` moves it from line to line)."""

    __slots__ = ("file", "line", "line_start")

    def __init__(self, file: str, line: int, line_start: int) -> None:
        self.file = file
        self.line = line
        self.line_start = line_start


def line_statement(
    text: str, position: int, where: Line, words: Mapping[str, str], builder: Any
) -> tuple[str, Any, int] | None:
    """``(nonterminal, node, end)`` for a plain one-line statement starting at ``position``,
    or ``None`` to let the token path parse it."""
    line_start = where.line_start
    end = text.find("\n", position)
    if end < 0:
        end = len(text)
    # The line with the newline before it: an offset in it is the column a span gives, so the
    # match's offsets need no arithmetic (and are small ints, which Python does not allocate).
    line_text = text[line_start - 1 : end] if line_start else "\n" + text[:end]
    column = position - line_start + 1
    if line_text.startswith("action", column) and (match := ACTION_LINE.match(line_text, column)):
        if continued(text, end + 1):
            return None
        node = _action(line_text, match, where, words)
        return None if node is None else ("action_decl", node, end)
    match = TRANSITION_LINE.match(line_text, column)  # also `actions -> b`, `action_x -> b`
    if match is None or continued(text, end + 1):
        return None
    node = _transition(line_text, match, where, words, builder)
    return None if node is None else ("transition", node, end)


_Name = ast.new_name
_CallableRef = ast.new_callable_ref
_Argument = ast.new_argument
_String = ast.new_string
_Number = ast.new_number
_Constant = ast.new_constant
_ActionDecl = ast.new_action_decl
_Endpoint = ast.new_endpoint
_Transition = ast.new_transition


def continued(text: str, position: int) -> bool:
    """Whether the line at ``position`` continues the statement above (``CONTINUATION``).
    Its first character looked up in a set costs a third of ``startswith`` over the tuple."""
    return (
        text[position : position + 1] in _CONTINUATION_FIRST
        and CONTINUATION.match(text, position) is not None
    )


def _action(line_text: str, match: re.Match[str], where: Line, words: Mapping[str, str]) -> Any:
    # Every span in one call (``regs``: one pair per group, in ACTION_LINE's order), the words
    # sliced from the line: a third of the instructions of a ``span``/``group`` call per group.
    # The line starts with the newline before it, so every offset is a column.
    (
        (start, _),
        (name_start, name_end),
        (target_start, last_end),
        (arguments_start, arguments_end),
        key,
        value,
        key2,
        value2,
        (clauses_start, clauses_end),
        (read_start, read_end),
        (write_start, write_end),
    ) = match.regs
    name = line_text[name_start:name_end]
    if name in words:
        return None
    file, line = where.file, where.line
    target_span = _new_span(Span, (file, line, target_start, line, last_end))
    target = callable_ref(line_text[target_start:last_end], target_span, words)
    if target is None:
        return None
    arguments: tuple[ast.Argument, ...] | None = ()
    if arguments_start >= 0:
        if key[0] < 0:
            arguments = bound_arguments(
                line_text, arguments_start, arguments_end, file, line, 0, words
            )
        elif (first := _argument(line_text, key, value, file, line, 0, words)) is None:
            return None
        elif key2[0] < 0:
            arguments = (first,)
        elif (second := _argument(line_text, key2, value2, file, line, 0, words)) is None:
            return None
        else:
            arguments = (first, second)
        if arguments is None:
            return None
        last_end = arguments_end
    reads: tuple[ast.Name, ...] = ()
    writes: tuple[ast.Name, ...] = ()
    inputs: tuple[ast.Name, ...] = ()
    if read_start >= 0 or write_start >= 0:  # the commonest clauses, captured whole
        if read_start >= 0:
            if (word := line_text[read_start:read_end]) in words:
                return None
            reads = (_Name(word, _new_span(Span, (file, line, read_start, line, read_end))),)
            last_end = read_end
        if write_start >= 0:
            if (word := line_text[write_start:write_end]) in words:
                return None
            writes = (_Name(word, _new_span(Span, (file, line, write_start, line, write_end))),)
            last_end = write_end
    elif clauses_start < clauses_end:
        clauses: dict[str, list[ast.Name]] = {}
        names: list[ast.Name] = []
        for part in _CLAUSE_PARTS.finditer(line_text, clauses_start, clauses_end):
            word = part.group("name")
            if word is None:
                clause = part.group("clause")
                if clause in clauses:
                    return None  # a repeated clause is an error the token path reports
                names = clauses[clause] = []
            elif word in words:
                return None
            else:
                part_start, last_end = part.span()
                span = _new_span(Span, (file, line, part_start, line, last_end))
                names.append(_Name(word, span))
        reads = tuple(clauses["reads"]) if "reads" in clauses else ()
        writes = tuple(clauses["writes"]) if "writes" in clauses else ()
        inputs = tuple(clauses["inputs"]) if "inputs" in clauses else ()
    return _ActionDecl(
        _Name(name, _new_span(Span, (file, line, name_start, line, name_end))),
        target,
        arguments,
        reads,
        writes,
        inputs,
        _new_span(Span, (file, line, start, line, last_end)),
    )


def callable_ref(written: str, span: Span, words: Mapping[str, str]) -> ast.CallableRef | None:
    """The reference ``name`` or ``package.module:function``, unless a part is a keyword."""
    if ":" not in written:  # a plain name, as most are: no partition
        return None if written in words else _CallableRef(written, None, span)
    module, _, function = written.rpartition(":")
    if function in words or any(part in words for part in module.split(".")):
        return None
    return _CallableRef(function, module, span)


def bound_arguments(
    text: str, start: int, end: int, file: str, line: int, offset: int, words: Mapping[str, str]
) -> tuple[ast.Argument, ...] | None:
    """The arguments written between ``start`` and ``end`` (a match of ``ARGUMENTS``) on
    ``line``, whose column is the offset in ``text`` minus ``offset``."""
    arguments = []
    for part in _ARGUMENT_PARTS.finditer(text, start, end):
        _, key, value = part.regs
        argument = _argument(text, key, value, file, line, offset, words)
        if argument is None:
            return None
        arguments.append(argument)
    return tuple(arguments)


def _argument(
    text: str,
    key: tuple[int, int],
    value: tuple[int, int],
    file: str,
    line: int,
    offset: int,
    words: Mapping[str, str],
) -> ast.Argument | None:
    """The argument whose key and value are written at these ``(start, end)`` offsets."""
    key_start, key_end = key
    if (written_key := text[key_start:key_end]) in words:
        return None
    start, end = value
    literal = text[start:end]
    span = _new_span(Span, (file, line, start - offset, line, end - offset))
    node: ast.Value
    first = literal[0]
    if first == '"' or first == "'":
        node = _String(literal[1:-1], span)
    elif first.isalpha():
        if literal not in ast.CONSTANT_WORDS:
            return None
        node = _Constant(ast.CONSTANT_WORDS[literal], span)
    else:  # digits with an optional sign and fraction, as int() and float() read them
        try:
            number = float(literal) if "." in literal else int(literal)
        except ValueError:  # more digits than int() reads: the builder reports it (F106)
            return None
        node = _Number(number, span)
    key_start -= offset
    key_name = _Name(written_key, _new_span(Span, (file, line, key_start, line, key_end - offset)))
    return _Argument(key_name, node, _new_span(Span, (file, line, key_start, line, end - offset)))


def _transition(
    line_text: str, match: re.Match[str], where: Line, words: Mapping[str, str], builder: Any
) -> Any:
    # Every span in one call (``regs``, in TRANSITION_LINE's order), as in ``_action``; the
    # offsets are columns.
    (
        (start, _),
        (source_start, source_end),
        (target_start, last_end),
        (chain_start, chain_end),
        _,
        (condition_start, condition_end),
    ) = match.regs
    source = line_text[source_start:source_end]
    target = line_text[target_start:last_end]
    if (source in words and source != ast.START) or (target in words and target != ast.END):
        return None
    file, line = where.file, where.line
    first = _Endpoint(source, _new_span(Span, (file, line, source_start, line, source_end)))
    second = _Endpoint(target, _new_span(Span, (file, line, target_start, line, last_end)))
    if chain_start < chain_end:
        if target == ast.END:
            return None  # `end` before the last arrow: the token path words the mistake
        path = [first, second]
        for part in _CHAIN_PARTS.finditer(line_text, chain_start, chain_end):
            word = part.group()
            if (word in words and word != ast.END) or path[-1].name == ast.END:
                return None
            part_start, last_end = part.span()
            path.append(_Endpoint(word, _new_span(Span, (file, line, part_start, line, last_end))))
        if condition_start >= 0:
            return None
        return _Transition(tuple(path), None, _new_span(Span, (file, line, start, line, last_end)))
    if condition_start < 0:
        span = _new_span(Span, (file, line, start, line, last_end))
        return _Transition((first, second), None, span)
    condition = builder.condition(line_text[condition_start:condition_end], line, condition_start)
    span = _new_span(Span, (file, line, start, line, condition_end))
    return _Transition((first, second), condition, span)
