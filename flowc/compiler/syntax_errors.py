"""Syntax errors of .flow files: error codes, the catalogue of labelled mistakes, and recovery.

``ErrorCollector.on_error`` is handed to Lark's LALR parser. For each error it records one
diagnostic in plain words (a catalogue label found by LALR state, a "did you mean" for a
misspelled keyword, or "expected …" with the tokens put into words), then repairs the parse so
later mistakes are reported too: a bad character or token is skipped, and at the end of a line
(or a ``}``) the missing pieces of the statement are filled in with placeholder tokens. Errors on
the same line as a reported one are not reported again (panic mode), so one mistake gives one
diagnostic. The catalogue is modelled on Lark's ``GRAMMAR_ERRORS``: each entry's snippets are
parsed once per process to learn the parser state they fail in.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from lark import Token
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken
from lark.lexer import PatternStr

from flowc.errors import Diagnostic, Span
from flowc.grammar import get_parser

MAX_ERRORS = 20

# Codes raised by the .flow front end (F11x belongs to the condition language).
F_UNEXPECTED = "F100"  # a token the grammar does not allow here (generic "expected …")
F_ENCODING = "F101"  # the input is not readable UTF-8 text
F_CHARACTER = "F102"  # a character that starts no token
F_STRING = "F103"  # a string literal not closed on its line
F_EOF = "F104"  # the file ends inside a statement, or with a bracket or block left open
F_KEYWORD = "F105"  # a misspelled or misplaced keyword ("did you mean …")
F_VALUE = "F106"  # a number, duration, percentage or count that is not valid where written
F_NAME = "F107"  # a name that is reserved or not a stable identifier
F_SHAPE = "F108"  # a construct in a shape the language does not allow (chains, maps, clauses)
F_TOO_MANY = "F109"  # more syntax errors than are reported in one run


def diagnostic(code: str, message: str, span: Span | None, hint: str = "") -> Diagnostic:
    return Diagnostic(code, message, span, hints=(hint,) if hint else ())


# ---- the catalogue -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SyntaxErrorLabel:
    """A mistake users make, with the words to explain it and snippets that make it."""

    code: str
    message: str
    hint: str
    examples: tuple[str, ...]


CATALOGUE: tuple[SyntaxErrorLabel, ...] = (
    SyntaxErrorLabel(
        "F120",
        "expected a name after `action`",
        "declare an action as `action name = callable reads a writes b`",
        ("action = f\n", "action\n", "action 3\n"),
    ),
    SyntaxErrorLabel(
        "F121",
        "expected `=` after the action's name",
        "write `action name = callable`",
        ("action a f\n", "action a\n", "action a reads x\n"),
    ),
    SyntaxErrorLabel(
        "F122",
        "expected a callable after `=`",
        "name an imported function, or write `package.module:function`",
        ("action a =\n", "action a = 3\n", 'action a = "f"\n'),
    ),
    SyntaxErrorLabel(
        "F123",
        "expected a state key",
        "list keys separated by commas: `reads prompt, history`",
        (
            "action a = f reads\n",
            "action a = f writes\n",
            "action a = f inputs\n",
            "action a = f reads 3\n",
            "action a = f reads x, 3\n",
        ),
    ),
    SyntaxErrorLabel(
        "F124",
        "unexpected text after the action",
        "an action line is `action name = callable(params) reads … writes … inputs …`",
        ("action a = f x\n", "action a = f reads x y\n", "action a = f(x=1) y\n"),
    ),
    SyntaxErrorLabel(
        "F125",
        "expected a parameter `name=value`",
        'bind parameters by name: `query(model="gpt-4")`',
        ('action a = f("x")\n', "action a = f(3)\n", "action a = f(x)\n"),
    ),
    SyntaxErrorLabel(
        "F126",
        "expected a value",
        "values are strings, numbers, True/False/None, [lists] and {dicts}",
        ("action a = f(x=)\n", "state { a: int = }\n", "action a = f(x=y)\n"),
    ),
    SyntaxErrorLabel(
        "F127",
        "expected `->` after the name",
        "a transition is `a -> b` or `a -> b when condition`",
        ("a\n", "a b\n", "a = b\n", "a 3\n"),
    ),
    SyntaxErrorLabel(
        "F128",
        "expected a name after `->`",
        "name an action, graph or map, or `end`",
        ("a ->\n", "a -> 3\n", "a -> -> b\n"),
    ),
    SyntaxErrorLabel(
        "F129",
        "expected a condition after `when`",
        "write a condition such as `when round < 3`",
        ("a -> b when\n",),
    ),
    SyntaxErrorLabel(
        "F130",
        "unexpected text after the transition",
        "one transition per line: `a -> b` or `a -> b when condition`",
        ("a -> b c\n", "a -> b 3\n"),
    ),
    SyntaxErrorLabel(
        "F131",
        "expected `{` after `state`",
        "the schema is `state { name: type = default }`",
        ("state\n", "state a\n"),
    ),
    SyntaxErrorLabel(
        "F132",
        "expected a field `name: type` in the state block",
        "write one field per line: `prompts: list[str] = []`",
        ("state { 3 }\n", "state { a }\n", "state { a int }\n", "state { a = 1 }\n"),
    ),
    SyntaxErrorLabel(
        "F133",
        "expected a type after `:`",
        "types are str, int, float, bool, any, list[T], dict[K, V], optional[T] or a model",
        ("state { a: }\n", "state { a: 3 }\n", "state { a: [int] }\n"),
    ),
    SyntaxErrorLabel(
        "F134",
        "expected `import` after the module path",
        "write `from package.module import name`",
        ("from a\n", "from a b\n", 'from "a.flow"\n'),
    ),
    SyntaxErrorLabel(
        "F135",
        "expected a module path or a quoted .flow file after `from`",
        'write `from package.module import f` or `from "other.flow" import graph`',
        ("from\n", "from 3 import a\n"),
    ),
    SyntaxErrorLabel(
        "F136",
        "expected the names to import",
        "write `from package.module import a, b as c`",
        ("from a import\n", "from a import 3\n", "from a import b as\n"),
    ),
    SyntaxErrorLabel(
        "F137",
        "expected a name after `graph`",
        "declare a graph as `graph name { … }`",
        ("graph\n", "graph {\n}\n"),
    ),
    SyntaxErrorLabel(
        "F138",
        "expected `{` after the graph's name",
        "a graph's body is in braces: `graph name { start -> a -> end }`",
        ("graph g\n", "graph g a\n"),
    ),
    SyntaxErrorLabel(
        "F139",
        "expected a name after `map`",
        "declare a map as `map name = branch for item in items { … }`",
        ("map\n", "map = a\n"),
    ),
    SyntaxErrorLabel(
        "F140",
        "expected `=` after the map's name",
        "write `map name = branch for item in items` or `map name = [a, b]`",
        ("map m a\n", "map m\n", "map m [a]\n"),
    ),
    SyntaxErrorLabel(
        "F141",
        "expected the map's branches after `=`",
        "one action or graph (`ask for p in prompts`) or a list (`[ask, riddle]`)",
        ("map m =\n", "map m = 3\n", "map m = []\n"),
    ),
    SyntaxErrorLabel(
        "F142",
        "expected `for item in items` or `{` after the branches",
        "write `map m = ask for prompt in prompts { … }`",
        ("map m = a b\n", "map m = a in xs\n", "map m = [a] b\n"),
    ),
    SyntaxErrorLabel(
        "F143",
        "expected `name in items` after `for`",
        "write `for prompt in prompts`",
        ("map m = a for\n", "map m = a for x\n", "map m = a for x xs\n"),
    ),
    SyntaxErrorLabel(
        "F144",
        "expected the items after `in`",
        "items come from a state key (`prompts`), a runtime input (`input prompts`), "
        "a list (`[1, 2]`) or a range (`range(5)`)",
        ("map m = a for x in\n", "map m = a for x in 3\n", "map m = a for x in input\n"),
    ),
    SyntaxErrorLabel(
        "F145",
        "expected a map option or `reduce`",
        "options: max_concurrency, executor, tolerate, retry, timeout, first, key, tracker, "
        "persister; then `reduce key = reducer(field)`",
        ("map m = [a] {\n3\n}\n", "map m = [a] { 3 }\n"),
    ),
    SyntaxErrorLabel(
        "F146",
        "expected a number",
        "for example `max_concurrency 8`, `retry 3`, `first 1`, `tolerate 10%`, `timeout 30s`",
        (
            "map m = [a] { max_concurrency }\n",
            "map m = [a] { retry }\n",
            "map m = [a] { timeout }\n",
            "map m = [a] { tolerate }\n",
            "map m = [a] { first }\n",
            "map m = [a] { max_concurrency x }\n",
            "map m = [a] { retry 3 backoff }\n",
        ),
    ),
    SyntaxErrorLabel(
        "F147",
        "expected `cascade` or `none`",
        "`cascade` (the default) hands the parent's tracker/persister to each branch",
        ("map m = [a] { tracker }\n", "map m = [a] { persister x }\n"),
    ),
    SyntaxErrorLabel(
        "F148",
        "expected the keys the reducer writes after `reduce`",
        "write `reduce results = collect(llm_output)`",
        ("map m = [a] { reduce }\n", "map m = [a] { reduce = collect(x) }\n"),
    ),
    SyntaxErrorLabel(
        "F149",
        "expected `=` after the reduced keys",
        "write `reduce results = collect(llm_output)`",
        ("map m = [a] { reduce x collect(y) }\n", "map m = [a] { reduce x }\n"),
    ),
    SyntaxErrorLabel(
        "F150",
        "expected a reducer after `=`",
        "built-ins: collect, records, to_dict, sum, count, min, max, concat, first, merge; "
        "or a custom `package.module:function`",
        ("map m = [a] { reduce x = }\n", "map m = [a] { reduce x = 3 }\n"),
    ),
    SyntaxErrorLabel(
        "F151",
        "expected a field name in the reducer's arguments",
        "for example `collect(llm_output)` or `records(output=llm_output, prompt)`",
        ("map m = [a] { reduce x = collect(3 4) }\n", "map m = [a] { reduce x = collect(y z) }\n"),
    ),
    SyntaxErrorLabel(
        "F152",
        "expected a branch (an action or graph name) in the list",
        'write `[ask, ask(model="o1") as o1, riddle]`',
        ("map m = [3]\n", "map m = [a, 3]\n", "map m = [a b]\n"),
    ),
    SyntaxErrorLabel(
        "F153",
        "expected a name after `as`",
        'rename a branch with `ask(model="o1") as o1`',
        ("map m = [a as]\n", "map m = [a as 3]\n"),
    ),
    SyntaxErrorLabel(
        "F154",
        "expected a name after `flow`",
        "name the flow: `flow prompt_lab`",
        ("flow\n", "flow 3\n"),
    ),
)

_STATEMENT_KEYWORDS = ("flow", "from", "import", "state", "action", "graph", "map", "start", "end")


# ---- putting tokens into words -----------------------------------------------------------------

_TOKEN_WORDS = {
    "NAME": "a name",
    "NUMBER": "a number",
    "STRING": "a string",
    "CONDITION": "a condition",
    "CASCADE_MODE": "`cascade` or `none`",
    "_NL": "the end of the line",
    "$END": "the end of the file",
    "_ARROW": "`->`",
}


@cache
def _terminal_literals() -> dict[str, str]:
    """Terminal name → its literal text, for the terminals that are fixed strings."""
    return {
        t.name: t.pattern.value for t in get_parser().terminals if isinstance(t.pattern, PatternStr)
    }


@cache
def keywords() -> frozenset[str]:
    """Every word the grammar treats as a keyword somewhere."""
    return frozenset(v for v in _terminal_literals().values() if v.isidentifier())


def describe_expected(kind: str) -> str:
    if kind in _TOKEN_WORDS:
        return _TOKEN_WORDS[kind]
    literal = _terminal_literals().get(kind)
    return f"`{literal}`" if literal is not None else kind.lower()


def describe_token(token: Token) -> str:
    """What was found, in words: "the name `x`", "`}`", "the end of the line"."""
    kind = token.type
    if kind in ("_NL", "$END"):
        return _TOKEN_WORDS[kind]
    text = str(token.value)
    if len(text) > 30:
        text = text[:27] + "..."
    if kind == "NAME":
        return f"the name `{text}`"
    if kind == "NUMBER":
        return f"the number `{text}`"
    if kind == "STRING":
        return f"the string {text}"
    return f"`{text}`"


def expected_in_words(kinds: set[str], limit: int = 8) -> str:
    words = sorted({describe_expected(k) for k in kinds if k != "DICT_LBRACE"})
    if len(words) > limit:
        words = [*words[:limit], "…"]
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + " or " + words[-1]


# ---- labelling ----------------------------------------------------------------------------------


_CONTEXT_DEPTH = 3  # how many states from the top of the LALR stack tell mistakes apart


def _stack_key(error: UnexpectedToken, depth: int) -> tuple[int, ...]:
    return tuple(error.state.state_stack[-depth:])


@cache
def _catalogue_index() -> dict[tuple[object, ...], SyntaxErrorLabel]:
    """Keys built from the top of the parser's state stack (longest first, with and without the
    token type) → label, learnt by parsing every snippet once."""
    from flowc.grammar import raw_parse

    index: dict[tuple[object, ...], SyntaxErrorLabel] = {}
    for label in CATALOGUE:
        for snippet in label.examples:
            error = first_error(raw_parse, snippet)
            if not isinstance(error, UnexpectedToken):
                continue
            for depth in range(_CONTEXT_DEPTH, 0, -1):
                key = _stack_key(error, depth)
                index.setdefault((*key, error.token.type), label)
                index.setdefault(key, label)
    return index


def first_error(raw_parse: Callable[..., Any], text: str) -> UnexpectedInput | None:
    """The first syntax error of ``text``, or None if it parses."""
    try:
        raw_parse(text)
    except UnexpectedInput as error:
        return error
    return None


def label_for(error: UnexpectedToken) -> SyntaxErrorLabel | None:
    """The catalogue's label for an error: the deepest matching stack context wins."""
    index = _catalogue_index()
    for depth in range(_CONTEXT_DEPTH, 0, -1):
        key = _stack_key(error, depth)
        label = index.get((*key, error.token.type)) or index.get(key)
        if label is not None:
            return label
    return None


# ---- the collector ------------------------------------------------------------------------------

_PLACEHOLDERS = {"NAME": "_", "NUMBER": "0", "STRING": '""', "CONDITION": "True"}
_REPAIR_PREFERENCE = (
    "RSQB",
    "RPAR",
    "NAME",
    "NUMBER",
    "STRING",
    "CONDITION",
    "CASCADE_MODE",
    "EQUAL",
    "IN",
    "IMPORT",
    "COLON",
    "LBRACE",
)
_MAX_REPAIR_STEPS = 16
_OPEN_BLOCK = re.compile(r"\s*(state|graph\s+\w+|map\s+\w+)")


class ErrorCollector:
    """Collects the syntax errors of one parse and steers Lark's recovery (see module doc)."""

    def __init__(self, text: str, file: str) -> None:
        self.text = text
        self.file = file
        self.diagnostics: list[Diagnostic] = []
        self._last_error: int | None = None  # offset of the last error, reported or not

    # -- Lark's hook --

    def on_error(self, error: UnexpectedInput) -> bool:
        if len(self.diagnostics) >= MAX_ERRORS:
            self._report(
                diagnostic(
                    F_TOO_MANY,
                    f"stopped after {MAX_ERRORS} syntax errors",
                    None,
                    "fix these and run again",
                )
            )
            return False
        if isinstance(error, UnexpectedCharacters):
            if self._is_new(error.pos_in_stream):
                self._report(self._character_error(error))
            self._last_error = error.pos_in_stream
            return True
        assert isinstance(error, UnexpectedToken)
        token = error.token
        if token.type == "$END":
            if self._is_new(len(self.text.rstrip())):
                self._report(self._eof_error(error))
            return False
        if self._is_new(token.start_pos):
            self._report(self._token_error(error))
        self._last_error = token.start_pos
        if token.type in ("_NL", "RBRACE"):
            self._repair(error, token)
        return True

    def give_up(self, error: UnexpectedInput) -> None:
        """The parse stopped: make sure the reason is reported once."""
        if not self.diagnostics:
            if isinstance(error, UnexpectedToken) and error.token.type == "$END":
                self._report(self._eof_error(error))
            else:
                self._report(diagnostic(F_UNEXPECTED, "the file could not be parsed", None))

    # -- helpers --

    def _is_new(self, offset: int) -> bool:
        """Panic mode: a second error before the next line break belongs to the first one."""
        last = self._last_error
        return last is None or "\n" in self.text[last:offset] or offset < last

    def _report(self, item: Diagnostic) -> None:
        self.diagnostics.append(item)

    def _span(self, token: Token) -> Span:
        if token.type == "_NL":  # point at the end of the line, not at the next one
            return Span(self.file, token.line, token.column, token.line, token.column + 1)
        return Span(self.file, token.line, token.column, token.end_line, token.end_column)

    def _repair(self, error: UnexpectedToken, token: Token) -> None:
        """Feed placeholder tokens until ``token`` (a line end or ``}``) fits, then feed it."""
        parser = error.interactive_parser
        for _ in range(_MAX_REPAIR_STEPS):
            accepts = parser.accepts()
            if token.type in accepts:
                parser.feed_token(token)
                return
            kind = next((k for k in _REPAIR_PREFERENCE if k in accepts), None)
            if kind is None:
                candidates = sorted(k for k in accepts if k not in ("$END", "_NL", "RBRACE"))
                if not candidates:
                    return
                kind = candidates[0]
            value = _PLACEHOLDERS.get(kind, _terminal_literals().get(kind, ""))
            parser.feed_token(Token.new_borrow_pos(kind, value, token))

    def _token_error(self, error: UnexpectedToken) -> Diagnostic:
        token = error.token
        if token.type == "CONDITION":  # only lexed here by the fallback: text no token starts
            return self._character_at(token.start_pos, token.line, token.column)
        found = describe_token(token)
        span = self._span(token)
        hint = self._misspelling(error)
        if hint is not None:
            return hint
        label = label_for(error)
        if label is not None:
            return Diagnostic(
                label.code, f"{label.message}, found {found}", span, hints=(label.hint,)
            )
        expected = expected_in_words(set(error.accepts or error.expected))
        return diagnostic(F_UNEXPECTED, f"unexpected {found}; expected {expected}", span)

    def _misspelling(self, error: UnexpectedToken) -> Diagnostic | None:
        """A name where a keyword belongs (or a statement opening with a non-keyword that looks
        like one) reads best as "did you mean …"."""
        token = error.token
        accepts = set(error.accepts or error.expected)
        literals = _terminal_literals()
        if token.type == "NAME":
            wanted = [literals[k] for k in accepts if k in literals and literals[k].isidentifier()]
            match = difflib.get_close_matches(token.value, wanted, n=1, cutoff=0.7)
            if match:
                return self._did_you_mean(token, match[0])
        # `acton a = f`: the misspelt word parsed as a transition source; the error is after it
        line_start = self.text.rfind("\n", 0, token.start_pos) + 1
        first = re.match(r"[ \t]*([^\W\d]\w*)", self.text[line_start : token.start_pos])
        if first and "_ARROW" in accepts and first.group(1) not in keywords():
            candidates = [*_STATEMENT_KEYWORDS, "reduce", "max_concurrency", "retry", "timeout"]
            match = difflib.get_close_matches(first.group(1), candidates, n=1, cutoff=0.7)
            if match:
                line = self.text.count("\n", 0, line_start) + 1
                col = first.start(1) + 1
                word = Token("NAME", first.group(1), line_start + col - 1, line, col)
                word.end_line, word.end_column = line, col + len(first.group(1))
                return self._did_you_mean(word, match[0])
        return None

    def _did_you_mean(self, token: Token, keyword: str) -> Diagnostic:
        return diagnostic(
            F_KEYWORD,
            f"unknown word `{token.value}`",
            Span(self.file, token.line, token.column, token.end_line, token.end_column),
            f"did you mean `{keyword}`?",
        )

    def _character_error(self, error: UnexpectedCharacters) -> Diagnostic:
        return self._character_at(error.pos_in_stream, error.line, error.column)

    def _character_at(self, offset: int, line: int, col: int) -> Diagnostic:
        char = self.text[offset]
        span = Span(self.file, line, col, line, col + 1)
        if char in "\"'":
            end = self.text.find("\n", offset)
            end = len(self.text) if end < 0 else end
            span = Span(self.file, line, col, line, col + end - offset)
            return diagnostic(F_STRING, "this string is not closed", span, f"end it with {char}")
        shown = char if char.isprintable() else f"U+{ord(char):04X}"
        hint = {
            ";": "statements end at the end of a line; no `;` is needed",
            "`": "quote strings with \" or '",
            "$": "refer to state keys by name, without `$`",
            "\\": "a backslash is only allowed inside a string",
        }.get(char, "")
        if not char.isprintable():
            hint = "only text belongs in a .flow file"
        return diagnostic(F_CHARACTER, f"unexpected character `{shown}`", span, hint)

    def _eof_error(self, error: UnexpectedToken) -> Diagnostic:
        end = len(self.text.rstrip())  # point just after the last text, not at an empty line
        line = self.text.count("\n", 0, end) + 1
        col = end - (self.text.rfind("\n", 0, end) + 1) + 1
        span = Span(self.file, line, col, line, col + 1)
        opened = unclosed_bracket(self.text)
        if opened is not None:
            open_line = self.text.count("\n", 0, opened) + 1
            line_start = self.text.rfind("\n", 0, opened) + 1
            open_col = opened - line_start + 1
            symbol = self.text[opened]
            what = f"`{symbol}`"
            head = _OPEN_BLOCK.match(self.text, line_start)
            if symbol == "{" and head:
                what = f"`{' '.join(head.group(1).split())}`"
            return diagnostic(
                F_EOF,
                f"unexpected end of file: {what} opened here is never closed",
                Span(self.file, open_line, open_col, open_line, open_col + 1),
                f"close it with `{_CLOSING[symbol]}`",
            )
        label = label_for(error)
        if label is not None:
            return Diagnostic(
                label.code, f"{label.message}, found the end of the file", span, hints=(label.hint,)
            )
        expected = expected_in_words(set(error.accepts or error.expected))
        return diagnostic(F_EOF, f"unexpected end of file; expected {expected}", span)


_SKIP = re.compile(r"\"(?:[^\"\\\n]|\\.)*\"?|'(?:[^'\\\n]|\\.)*'?|#[^\n]*|[{}()\[\]]")
_CLOSING = {"{": "}", "(": ")", "[": "]"}


def unclosed_bracket(text: str) -> int | None:
    """Offset of the innermost bracket left open (strings and comments skipped), if any."""
    stack: list[int] = []
    for match in _SKIP.finditer(text):
        symbol = match.group()
        if symbol in _CLOSING:
            stack.append(match.start())
        elif symbol in ")]}" and stack:
            stack.pop()
    return stack[-1] if stack else None
