"""The TextMate grammar is valid JSON, ships with the package, and its patterns compile."""

from __future__ import annotations

import json
import re
from importlib.resources import files
from typing import Any


def grammar() -> dict[str, Any]:
    return json.loads(files("flowc.editor").joinpath("flow.tmLanguage.json").read_text())


def patterns(node: Any) -> list[str]:
    found: list[str] = []
    if isinstance(node, dict):
        found += [node[key] for key in ("match", "begin", "end") if key in node]
        for value in node.values():
            found += patterns(value)
    elif isinstance(node, list):
        for item in node:
            found += patterns(item)
    return found


def test_grammar_declares_the_flow_scope_and_file_type():
    data = grammar()
    assert data["scopeName"] == "source.flow"
    assert data["fileTypes"] == ["flow"]


def test_every_include_points_at_a_repository_entry():
    data = grammar()
    includes = re.findall(r'"include": "#(\w+)"', json.dumps(data))
    assert includes and set(includes) <= set(data["repository"])


def test_every_pattern_is_a_valid_regular_expression():
    for pattern in patterns(grammar()):
        re.compile(pattern)


def test_keywords_cover_the_language():
    text = json.dumps(grammar())
    for word in ("action", "graph", "map", "reduce", "retry", "when", "start", "end", "tolerate"):
        assert word in text
