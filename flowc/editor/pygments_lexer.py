"""Pygments lexer for .flow files (registered as the ``flow`` lexer plugin in pyproject.toml).

It colours by the same token classes as the grammar: keywords, names of callables after ``=``,
strings with escapes, numbers with units (``30s``, ``10%``), arrows, and comments. Conditions
after ``when`` are coloured as expressions (operators, literals, names).
"""

from __future__ import annotations

from typing import Any, ClassVar

from pygments.lexer import RegexLexer, bygroups, include, words
from pygments.token import (
    Comment,
    Keyword,
    Name,
    Number,
    Operator,
    Punctuation,
    String,
    Text,
    Whitespace,
)

STATEMENT_KEYWORDS = ("flow", "from", "import", "as", "state", "action", "graph", "map")
CLAUSE_KEYWORDS = ("reads", "writes", "inputs", "for", "in", "input", "range", "when")
OPTION_KEYWORDS = (
    "max_concurrency",
    "executor",
    "tolerate",
    "retry",
    "backoff",
    "jitter",
    "timeout",
    "first",
    "key",
    "tracker",
    "persister",
    "reduce",
)
CONSTANTS = ("True", "False", "None", "true", "false", "none", "cascade", "start", "end")
EXPRESSION_WORDS = ("and", "or", "not", "in", "is", "if", "else")


class FlowLexer(RegexLexer):
    """Highlights .flow source."""

    name = "Flow"
    aliases: ClassVar[list[str]] = ["flow", "flowc"]
    filenames: ClassVar[list[str]] = ["*.flow"]
    mimetypes: ClassVar[list[str]] = ["text/x-flow"]

    tokens: ClassVar[dict[str, list[Any]]] = {
        "root": [
            (r"[ \t\f\r]+", Whitespace),
            (r"\n", Whitespace),
            (r"#.*$", Comment.Single),
            (r"\bwhen\b", Keyword, "condition"),
            (words(STATEMENT_KEYWORDS, suffix=r"\b"), Keyword.Declaration),
            (words(CLAUSE_KEYWORDS, suffix=r"\b"), Keyword),
            (words(OPTION_KEYWORDS, suffix=r"\b"), Keyword.Reserved),
            (words(CONSTANTS, suffix=r"\b"), Keyword.Constant),
            (
                r"([^\W\d][\w.]*)(:)([^\W\d]\w*)",
                bygroups(Name.Namespace, Punctuation, Name.Function),
            ),
            include("literals"),
            (r"->", Operator),
            (r"[=,:]", Operator),
            (r"[{}()\[\]]", Punctuation),
            (r"[^\W\d]\w*", Name),
            (r".", Text),
        ],
        "literals": [
            (r'"', String.Double, "dq"),
            (r"'", String.Single, "sq"),
            (r"[+-]?(\d[\d_]*(\.\d[\d_]*)?|\.\d[\d_]*)([eE][+-]?\d+)?(ms|s|m|h|%)\b", Number.Float),
            (r"[+-]?(\d[\d_]*(\.\d[\d_]*)?|\.\d[\d_]*)([eE][+-]?\d+)?%", Number.Float),
            (r"[+-]?\d[\d_]*\.\d[\d_]*([eE][+-]?\d+)?|[+-]?\d+[eE][+-]?\d+", Number.Float),
            (r"[+-]?\d[\d_]*", Number.Integer),
        ],
        "dq": [
            (r"\\(u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|.)", String.Escape),
            (r'[^"\\\n]+', String.Double),
            (r'"', String.Double, "#pop"),
            (r"\n", Whitespace, "#pop"),
        ],
        "sq": [
            (r"\\(u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|.)", String.Escape),
            (r"[^'\\\n]+", String.Single),
            (r"'", String.Single, "#pop"),
            (r"\n", Whitespace, "#pop"),
        ],
        "condition": [
            (r"\n", Whitespace, "#pop"),
            (r"(?=#)", Text, "#pop"),
            (r"(?=\})", Text, "#pop"),
            (r"[ \t\f\r]+", Whitespace),
            (words(EXPRESSION_WORDS, suffix=r"\b"), Operator.Word),
            (
                words(("True", "False", "None", "true", "false", "none", "null"), suffix=r"\b"),
                Keyword.Constant,
            ),
            include("literals"),
            (r"[^\W\d]\w*(?=\()", Name.Builtin),
            (r"[^\W\d]\w*", Name.Variable),
            (r"==|!=|<=|>=|//|[<>+\-*/%]", Operator),
            (r"[()\[\].,]", Punctuation),
            (r".", Text),
        ],
    }
