"""The condition language: a small, safe, Python-like expression language.

One evaluator serves ``expr("…")`` in Python and conditions in ``.flow`` files. Text goes through
a hand-written tokenizer (lexer.py) and a precedence-climbing parser (parser.py) into frozen nodes
(nodes.py); conditions of the commonest shape (comparisons joined by one of and/or) are built
straight from one regex match (simple.py) into the same nodes. Each tree becomes a tree of
closures once (evaluator.py), so ``node.evaluate(state)`` is a single call with no dispatch on
node types; printer.py prints canonical text. Nothing is ever passed to ``eval``/``exec``/
``compile``, and only a fixed set of pure functions can be called.
docs/expressions.md is the reference (grammar, functions, error codes).
"""

from flowc.runtime.expression.errors import (
    ExpressionEvaluationError,
    ExpressionKeyError,
    ExpressionSyntaxError,
)
from flowc.runtime.expression.nodes import (
    ALLOWED_FUNCTIONS,
    KEYWORDS,
    MAX_DEPTH,
    Attribute,
    Binary,
    BoolOp,
    Call,
    Compare,
    Conditional,
    Expression,
    Index,
    ListLiteral,
    Literal,
    Name,
    Unary,
    walk,
)
from flowc.runtime.expression.parser import CACHE_SIZE, parse_expression
from flowc.runtime.expression.printer import to_source

__all__ = [
    "ALLOWED_FUNCTIONS",
    "CACHE_SIZE",
    "KEYWORDS",
    "MAX_DEPTH",
    "Attribute",
    "Binary",
    "BoolOp",
    "Call",
    "Compare",
    "Conditional",
    "Expression",
    "ExpressionEvaluationError",
    "ExpressionKeyError",
    "ExpressionSyntaxError",
    "Index",
    "ListLiteral",
    "Literal",
    "Name",
    "Unary",
    "parse_expression",
    "to_source",
    "walk",
]
