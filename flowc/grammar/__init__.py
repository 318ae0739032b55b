"""The .flow grammar (``flow.lark``) and its LALR parser, built once per process.

This package holds grammar files and the cached parser only; turning parse trees into the typed
AST, recovering from errors and wording diagnostics live in ``flowc.compiler``.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import Any

from lark import Lark, Token, Tree

from flowc.grammar.newlines import CONTEXT, LexContext, NewlineFilter, collect_comment

GRAMMAR_FILE = "flow.lark"
START = "module"


def grammar_text() -> str:
    """The grammar source, for tools and tests that rebuild it with other options."""
    return files(__package__).joinpath(GRAMMAR_FILE).read_text(encoding="utf-8")


def parser_options(**overrides: Any) -> dict[str, Any]:
    """The options every .flow parser is built with; ``overrides`` for tests (``strict=True``)."""
    options: dict[str, Any] = {
        "start": START,
        "parser": "lalr",
        "lexer": "contextual",
        "propagate_positions": False,
        "maybe_placeholders": False,
        "cache": True,
        "postlex": NewlineFilter(),
        "lexer_callbacks": {"COMMENT": collect_comment},
    }
    options.update(overrides)
    return options


@cache
def get_parser() -> Lark:
    """The LALR parser for .flow files, with its post-lexer and comment collector.

    Built once per process; ``cache=True`` stores the analysed grammar in the temp directory so
    later processes skip the LALR table construction.
    """
    return Lark.open_from_package(__package__, GRAMMAR_FILE, ("",), **parser_options())


def raw_parse(text: str, *, on_error: Any = None) -> tuple[Tree, list[Token]]:
    """Parse text into a Lark tree (tokens only, no AST) and the comment tokens it contains.

    ``on_error`` is Lark's recovery hook (LALR only); without it the first error raises."""
    context = LexContext(text)
    reset = CONTEXT.set(context)
    try:
        tree = get_parser().parse(text, on_error=on_error)
    finally:
        CONTEXT.reset(reset)
    return tree, context.comments
