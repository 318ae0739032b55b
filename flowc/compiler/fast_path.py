"""The fast path for source without syntax errors: one regex pass driving Lark's LALR tables.

``parse_clean(text, builder)`` lexes with one precompiled pattern, applies the newline rules of
``flowc.grammar.newlines`` inline, and runs the shift/reduce loop over the parse table Lark built
from ``flow.lark``, calling the AST builder's methods as rules are reduced (children filtered and
inlined exactly as Lark's tree builder does). It gives up (returns ``None``) at the first token it
is not sure the contextual lexer would produce the same way, and at any syntax error; the caller
then runs the full path (contextual lexer, recovery, catalogue), so diagnostics never differ.
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from lark import Token
from lark.lexer import PatternStr
from lark.parsers.lalr_analysis import Shift

from flowc.compiler.line_statements import Line, line_statement
from flowc.compiler.map_statements import map_statement
from flowc.grammar import get_parser
from flowc.grammar.newlines import (
    CLOSERS,
    CONTINUATION,
    NEWLINE_AFTER,
    STATEMENT_START,
    VALUE_OPENERS,
)

_IGNORED = ("WS",)
_NEWLINE = "_NL"
_CONDITION = "CONDITION"
_CASCADE = "CASCADE_MODE"
_WHEN_CONDITION = "WHEN_CONDITION"  # `when` and the condition after it, matched together
_UNKNOWN = "UNKNOWN"  # any character no terminal starts with: give up
_NEWLINES = re.compile(r"(?:\n[\t \f]*)+")  # the _NL terminal (input has no \r by now)
_WORD = re.compile(r"[^\W\d]\w*")  # the NAME terminal
_BLANK = frozenset("\n \t\f")  # what may follow a newline within one _NL token
_REPEAT_DEPTH = 6  # parser states that decide a repeated line (see plain_lines)


@dataclass(frozen=True, slots=True)
class Rule:
    """What reducing one grammar rule does: pop ``size`` values, keep ``include`` of them
    (``expand`` marks inlined ``_rule`` children, whose own children are spliced in), then call
    the builder method ``method`` (or, for an inlined rule, keep the list)."""

    size: int
    origin: str
    include: tuple[tuple[int, bool], ...] | None  # None: keep all, in order
    method: str | None


@dataclass(frozen=True, slots=True)
class Tables:
    """Everything the fast path derives once per process from the Lark parser."""

    scanner: re.Pattern[str]
    words: dict[str, str]  # keyword text → terminal name
    actions: list[dict[str, int]]  # per state: symbol → shift target (≥ 0) or ~rule index
    rules: tuple[Rule, ...]
    start: int
    end: int


@cache
def tables() -> Tables:
    lark = get_parser()
    terminals = [t for t in lark.terminals if t.name not in (_CONDITION, _CASCADE)]
    name_re = next(t for t in terminals if t.name == "NAME").pattern.to_regexp()
    words = {
        t.pattern.value: t.name
        for t in terminals
        if isinstance(t.pattern, PatternStr) and re.fullmatch(name_re, t.pattern.value)
    }
    words["cascade"] = _CASCADE
    ordered = sorted(
        (t for t in terminals if t.pattern.value not in words),
        key=lambda t: (-t.priority, -t.pattern.max_width, -len(t.pattern.value), t.name),
    )
    condition = next(t for t in lark.terminals if t.name == _CONDITION).pattern.to_regexp()
    alternatives = [rf"(?P<{_WHEN_CONDITION}>when\b[\t \f\r]*(?P<{_CONDITION}>{condition}))"]
    alternatives += [f"(?P<{t.name}>{t.pattern.to_regexp()})" for t in ordered]
    alternatives.append(rf"(?P<{_UNKNOWN}>[\s\S])")
    scanner = re.compile("|".join(alternatives))

    table = lark.parser.parser.parser.parse_table
    rule_index: dict[Any, int] = {}
    actions: list[dict[str, int]] = [{} for _ in range(len(table.states))]
    for state, row in table.states.items():
        for symbol, (action, arg) in row.items():
            if action is Shift:
                actions[state][symbol] = arg
            else:
                actions[state][symbol] = ~rule_index.setdefault(arg, len(rule_index))
    rules = [Rule(0, "", None, None)] * len(rule_index)
    for rule, index in rule_index.items():
        rules[index] = _rule(rule)
    return Tables(
        scanner,
        words,
        actions,
        tuple(rules),
        table.start_states["module"],
        table.end_states["module"],
    )


def _rule(rule: Any) -> Rule:
    keep_all = rule.options.keep_all_tokens
    include = []
    for index, symbol in enumerate(rule.expansion):
        if keep_all or not (symbol.is_term and symbol.filter_out):
            include.append((index, not symbol.is_term and symbol.name.startswith("_")))
    name = rule.origin.name
    plain = len(include) == len(rule.expansion) and not any(expand for _, expand in include)
    method = None if name.startswith("_") else name
    return Rule(len(rule.expansion), name, None if plain else tuple(include), method)


class _GiveUp(Exception):
    """The fast path cannot vouch for this input; the full path will parse it."""


def parse_clean(text: str, builder: Any) -> tuple[Any, list[Token]] | None:
    """The builder's module for ``text`` and its comment tokens, or None when the input needs
    the full path (a syntax error, or a token only the contextual lexer can decide)."""
    try:
        return _parse(text, builder, tables())
    except _GiveUp:
        return None


def _parse(text: str, builder: Any, t: Tables) -> tuple[Any, list[Token]]:
    actions = t.actions
    words = t.words
    rules = [
        (r.size, r.origin, r.include, getattr(builder, r.method) if r.method else None)
        for r in t.rules
    ]
    new = str.__new__
    # Rules keep a newline only between a block's statements, never as their first or last
    # child (where spans are taken), and the builder drops it: one shared token serves them all.
    newline = Token(_NEWLINE, "\n")
    states = [t.start]
    values: list[Any] = []
    comments: list[Token] = []
    brackets: list[str] = []
    previous: str | None = None
    repeats: set[tuple[Any, ...]] = set()  # see plain_lines
    lowest = built = (
        0  # the stack's lowest depth and the builder calls since plain_lines reset them
    )
    line = 1
    line_start = 0

    def reduce(index: int) -> None:
        size, origin, include, method = rules[index]
        nonlocal lowest, built
        if size:
            children = values[-size:]
            del values[-size:]
            del states[-size:]
            if len(states) < lowest:
                lowest = len(states)
        else:
            children = []
        if method is not None:
            built += 1
        if include is not None:
            filtered: list[Any] = []
            for slot, expand in include:
                if not expand:
                    filtered.append(children[slot])
                elif filtered:
                    filtered += children[slot]
                else:  # a left-recursive repetition: extend its list in place
                    filtered = children[slot]
            children = filtered
        states.append(actions[states[-1]][origin])
        values.append(children if method is None else method(children))

    def goto(nonterminal: str, node: Any, lookahead: str) -> bool:
        """Take ``node`` as the reduced ``nonterminal`` if it can start here (after the
        reductions ``lookahead``, the statement's first token, triggers)."""
        action = actions[states[-1]].get(lookahead)
        while action is not None and action < 0:
            reduce(~action)
            action = actions[states[-1]].get(lookahead)
        target = actions[states[-1]].get(nonterminal)
        if target is None:
            return False
        states.append(target)
        values.append(node)
        return True

    def shift(kind: str, token: Any) -> None:
        action = actions[states[-1]].get(kind)
        while action is not None and action < 0:
            reduce(~action)
            action = actions[states[-1]].get(kind)
        if action is None:
            raise _GiveUp
        states.append(action)
        values.append(token)

    def plain_lines(start: int, kind: str) -> int | None:
        """Take a run of plain one-line statements (``line_statements``) from ``start``, whose
        first word is the terminal ``kind``, with the newlines between them; where the scanner
        must resume, or None when the first line is not plain.

        A line whose statement and newline left the parser exactly as it found them, having
        only appended the node to the list below the newline (a statement list's repetition,
        no builder call), is a repeat: the next line of the same kind, nonterminal and parser
        states appends its node to that list directly (``repeats``)."""
        nonlocal line, line_start, previous, lowest, built
        resume = None
        repeat_kind = repeat_nonterminal = ""  # the kind and nonterminal of a repeat just taken
        where = Line(file, line, line_start)
        take = map_statement if kind == "MAP" else line_statement
        statement = take(text, start, where, words, builder)
        while statement is not None:
            nonterminal, node, end = statement
            # A statement ends where a newline or the text does (``LINE_END``); the usual case,
            # one newline and a word, is told by a one-character slice (cached, no call).
            if end < length and text[end + 1 : end + 2] not in _BLANK:
                after, breaks, last_newline = end + 1, 1, end
            elif (blank := _NEWLINES.match(text, end)) is not None:
                value = blank.group()
                after, breaks = blank.end(), value.count("\n")
                last_newline = end + value.rindex("\n")
            else:
                after = -1  # the end, or a comment after the statement
            if after >= 0 and kind == repeat_kind and nonterminal == repeat_nonterminal:
                values[-2].append(node)  # the stack is as the last repeat left it
            elif after >= 0 and (
                (context := (kind, nonterminal, *states[-_REPEAT_DEPTH:])) in repeats
            ):
                values[-2].append(node)
                repeat_kind, repeat_nonterminal = kind, nonterminal
            else:
                repeat_kind = repeat_nonterminal = ""
                context = (kind, nonterminal, *states[-_REPEAT_DEPTH:])
                depth, count = len(states), len(values)
                kept = values[-_REPEAT_DEPTH:]
                below = values[-2] if count > 1 else None
                size = len(below) if type(below) is list else -1
                lowest, built = depth, 0
                if not goto(nonterminal, node, kind):
                    return resume
                if after < 0:
                    previous = "NAME"
                    line, line_start = where.line, where.line_start  # a block's last line
                    return end
                shift(_NEWLINE, newline)  # kept: `line_statement` saw no continuation line
                if (
                    len(states) == depth
                    and len(values) == count
                    and built == 0
                    and lowest > depth - _REPEAT_DEPTH
                    and (kind, nonterminal, *states[-_REPEAT_DEPTH:]) == context
                    and all(map(operator.is_, kept, values[-_REPEAT_DEPTH:]))
                    and len(below) == size + 1  # type: ignore[arg-type]
                    and below[-1] is node  # type: ignore[index]
                ):
                    repeats.add(context)
            previous = _NEWLINE
            line = where.line = where.line + breaks  # a block moved `where` to its last line
            line_start = where.line_start = last_newline + 1
            resume = start = after
            # The next line is offered to ``line_statement`` before its first word is looked up:
            # when it takes the line, that word is known without a regex (``action``, or the
            # transition's source: the lines it takes start with either, followed by a space
            # or an arrow). Only a word ``line_statement`` leaves, such as ``map``, is matched.
            statement = line_statement(text, start, where, words, builder)
            if statement is not None:
                word = "action" if statement[0] == "action_decl" else statement[1].path[0].name
            elif (first := _WORD.match(text, start)) is not None:
                word = first.group()
            else:
                return resume
            kind = words.get(word, "NAME")
            if kind not in actions[states[-1]]:
                kind = _resolve_word(actions[states[-1]], word, kind)
            if statement is None and kind == "MAP":
                statement = map_statement(text, start, where, words, builder)
        return resume

    file = builder.file
    length = len(text)
    position = 0
    while True:
        for match in t.scanner.finditer(text, position):
            kind = match.lastgroup
            assert kind is not None
            if kind == "WS":
                continue
            start = match.start()
            value = match.group()
            end = match.end()
            if kind == "NAME":
                kind = words.get(value, "NAME")
                if kind not in actions[states[-1]]:
                    kind = _resolve_word(actions[states[-1]], value, kind)
                if previous is None or previous == _NEWLINE:
                    after = plain_lines(start, kind)
                    if after is not None:
                        position = after
                        break
            elif kind == _NEWLINE:
                if brackets and brackets[-1] != "BLOCK":
                    if not STATEMENT_START.match(text, end):
                        line += value.count("\n")
                        line_start = start + value.rindex("\n") + 1
                        continue
                    while brackets and brackets[-1] != "BLOCK":
                        brackets.pop()
                keep = not (
                    previous is None
                    or previous == _NEWLINE
                    or previous in NEWLINE_AFTER
                    or CONTINUATION.match(text, end)
                )
                line += value.count("\n")
                line_start = start + value.rindex("\n") + 1
                if keep:
                    previous = kind
                    shift(kind, newline)
                continue
            elif kind == _WHEN_CONDITION:
                shift("WHEN", _token("WHEN", "when", start, line, line_start))
                start = match.start(_CONDITION)
                value = text[start:end]
                kind = _CONDITION
            elif kind == "COMMENT":
                comments.append(_token(kind, value, start, line, line_start))
                continue
            elif kind == _UNKNOWN:
                raise _GiveUp
            elif kind == "LPAR" or kind == "LSQB":
                brackets.append(kind)
            elif kind == "LBRACE":
                brackets.append("DICT_LBRACE" if previous in VALUE_OPENERS else "BLOCK")
            elif kind in CLOSERS and brackets and brackets[-1] in CLOSERS[kind]:
                brackets.pop()
            token = new(Token, value)
            token.type = kind
            token.value = value
            token.start_pos = start
            token.line = line
            token.column = start - line_start + 1
            token.end_line = line
            token.end_column = end - line_start + 1
            token.end_pos = end
            previous = "DICT_LBRACE" if kind == "LBRACE" and brackets[-1] == "DICT_LBRACE" else kind
            action = actions[states[-1]].get(kind)
            while action is not None and action < 0:
                reduce(~action)
                action = actions[states[-1]].get(kind)
            if action is None:
                raise _GiveUp
            states.append(action)
            values.append(token)
        else:
            break
    action = actions[states[-1]].get("$END")
    while action is not None and action < 0:
        reduce(~action)
        if states[-1] == t.end:
            return values[-1], comments
        action = actions[states[-1]].get("$END")
    raise _GiveUp


def _token(kind: str, value: str, start: int, line: int, line_start: int) -> Token:
    end = start + len(value)
    return Token(kind, value, start, line, start - line_start + 1, line, end - line_start + 1, end)


def _resolve_word(row: dict[str, int], value: str, kind: str) -> str:
    """The terminal the contextual lexer gives a word in a state that does not accept the word's
    usual terminal: a plain name where names are accepted, the cascade mode where only it is."""
    if "NAME" in row and kind != "NAME":
        return "NAME"
    if _CASCADE in row and value in ("cascade", "none"):
        return _CASCADE
    raise _GiveUp
