"""The grammar file builds conflict-free, and every rule it keeps becomes a typed AST node."""

from __future__ import annotations

from lark import Lark

from flowc.compiler.parse import AstBuilder
from flowc.grammar import get_parser, grammar_text, parser_options


def test_grammar_builds_in_strict_mode_so_a_new_conflict_fails():
    Lark(grammar_text(), **parser_options(strict=True, cache=False))


def test_get_parser_is_built_once_per_process():
    assert get_parser() is get_parser()


def test_every_kept_rule_has_a_transformer_method():
    kept = {
        rule.origin.name
        for rule in get_parser().rules
        if not rule.origin.name.startswith("_") and not rule.options.expand1
    }
    missing = {name for name in kept if not callable(getattr(AstBuilder, name, None))}
    assert not missing, f"rules without an AstBuilder method: {sorted(missing)}"


def test_parser_is_lalr_with_contextual_lexer():
    options = get_parser().options
    assert options.parser == "lalr"
    assert options.lexer == "contextual"
