"""The Pygments lexer is registered for .flow files and colours every construct without errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from pygments.lexers import get_lexer_by_name, get_lexer_for_filename
from pygments.token import Comment, Error, Keyword, Name, Number, Operator, String

from flowc.editor.pygments_lexer import FlowLexer

EXAMPLES = sorted((Path(__file__).parents[2] / "examples").rglob("*.flow"))


def tokens(text: str) -> list[tuple[object, str]]:
    return [(kind, value) for kind, value in FlowLexer().get_tokens(text) if value.strip()]


def test_lexer_is_registered_as_a_plugin_for_flow_files():
    assert isinstance(get_lexer_by_name("flow"), FlowLexer)
    assert isinstance(get_lexer_for_filename("prompt_lab.flow"), FlowLexer)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_examples_lex_without_error_tokens_and_round_trip(path: Path):
    text = path.read_text()
    lexed = list(FlowLexer().get_tokens(text))
    assert not [value for kind, value in lexed if kind is Error]
    assert "".join(value for _, value in lexed) == text


def test_constructs_get_their_token_classes():
    found = tokens('action ask = pkg.llm:query(model="o1\\n") reads p  # c\nm -> end when n < 3s')
    assert (Keyword.Declaration, "action") in found
    assert (Name.Function, "query") in found
    assert (String.Escape, "\\n") in found
    assert (Keyword, "reads") in found
    assert (Comment.Single, "# c") in found
    assert (Operator, "->") in found
    assert (Keyword.Constant, "end") in found
    assert (Name.Variable, "n") in found
    assert (Number.Float, "3s") in found


def test_hash_inside_a_condition_string_is_not_a_comment():
    found = tokens('a -> b when s == "#1"  # real')
    assert (Comment.Single, "# real") in found
    assert not any(kind is Comment.Single and "#1" in value for kind, value in found)
