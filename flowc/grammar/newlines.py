"""Which newlines end a statement: the post-lexer of the .flow parser.

The grammar ends statements at ``_NL``. This post-lexer drops the newlines that do not end one:
inside ``( )``, ``[ ]`` and dict braces; after ``,`` ``=`` ``->`` and a block's ``{``; repeated
ones (blank and comment-only lines); and those before a line that starts with a continuation
keyword (``reads``, ``writes``, ``inputs``, ``for``, ``when``) or with ``{``. Lark restarts the
token stream after each recovered syntax error, so the state of one parse (the text, open
brackets, the comments seen) lives in a ``LexContext`` set for the duration of that parse.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field

from lark import Token

# A line that (after blank and comment lines) starts with one of these continues the previous one.
CONTINUATION = re.compile(
    r"(?:[ \t\f]*(?:#[^\n]*)?\n)*[ \t\f]*(?:(?:reads|writes|inputs|for|when)\b|\{)"
)
# The characters a CONTINUATION match can start with: any other rules it out without the regex.
CONTINUATION_FIRST = (" ", "\t", "\f", "#", "\n", "r", "w", "i", "f", "{")
# A line that starts a statement closes any bracket left open above it (error recovery).
STATEMENT_START = re.compile(
    r"(?:[ \t\f]*(?:#[^\n]*)?\n)*[ \t\f]*(?:flow|from|state|action|graph|map)\b"
)
NEWLINE_AFTER = frozenset({"COMMA", "EQUAL", "_ARROW", "LBRACE"})
VALUE_OPENERS = frozenset({"EQUAL", "COLON", "COMMA", "LSQB", "LPAR", "DICT_LBRACE"})
CLOSERS = {"RPAR": ("LPAR",), "RSQB": ("LSQB",), "RBRACE": ("DICT_LBRACE", "BLOCK")}


@dataclass(slots=True)
class LexContext:
    """What one parse's post-lexer and comment callback need; lives for one ``parse`` call."""

    text: str
    comments: list[Token] = field(default_factory=list)
    brackets: list[str] = field(default_factory=list)  # LPAR, LSQB, DICT_LBRACE, BLOCK
    previous: str | None = None  # type of the last token handed to the parser


CONTEXT: ContextVar[LexContext] = ContextVar("flowc_parse_context")


class NewlineFilter:
    """Lark post-lexer: keeps only the newlines that end a statement (see flow.lark's header).

    Its state lives in the parse's ``LexContext`` rather than in the generator, because Lark
    restarts the token stream after each recovered syntax error."""

    always_accept = ("_NL",)

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        context = CONTEXT.get()
        brackets = context.brackets
        for token in stream:
            kind = token.type
            if kind == "_NL":
                if brackets and brackets[-1] != "BLOCK":
                    if not STATEMENT_START.match(context.text, token.end_pos):
                        continue
                    while brackets and brackets[-1] != "BLOCK":
                        brackets.pop()
                previous = context.previous
                if previous is None or previous == "_NL" or previous in NEWLINE_AFTER:
                    continue
                if CONTINUATION.match(context.text, token.end_pos):
                    continue
            elif kind == "LPAR" or kind == "LSQB":
                brackets.append(kind)
            elif kind == "LBRACE":
                if context.previous in VALUE_OPENERS:
                    brackets.append("DICT_LBRACE")
                    kind = "DICT_LBRACE"
                else:
                    brackets.append("BLOCK")
            elif kind in CLOSERS and brackets and brackets[-1] in CLOSERS[kind]:
                brackets.pop()
            context.previous = kind
            yield token


def collect_comment(token: Token) -> Token:
    CONTEXT.get().comments.append(token)
    return token
