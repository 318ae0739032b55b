"""Whether a value has a declared state type: the rule behind F312 (defaults) and F604 (--state)."""

from __future__ import annotations

from typing import Any

import pytest

from flowc.compiler.ast import StateBlock, TypeRef
from flowc.compiler.parse import parse_or_raise
from flowc.compiler.value_types import describe_value, type_problem


def declared(type_text: str) -> TypeRef:
    module = parse_or_raise(f"state {{ x: {type_text} }}\n", "t.flow")
    (block,) = [s for s in module.statements if isinstance(s, StateBlock)]
    return block.fields[0].type


def no_models(name: str) -> Any:
    return None


@pytest.mark.parametrize(
    ("type_text", "value"),
    [
        ("int", 3),
        ("float", 3),
        ("float", 0.5),
        ("bool", False),
        ("str", ""),
        ("any", object()),
        ("optional[int]", None),
        ("list[str]", ["a", "b"]),
        ("dict[str, list[int]]", {"a": [1]}),
        ("Unknown", {"anything": 1}),  # an imported class nobody can look up is accepted
    ],
)
def test_values_of_the_declared_type_fit(type_text: str, value: Any) -> None:
    assert type_problem(value, declared(type_text), "x", no_models) is None


@pytest.mark.parametrize(
    ("type_text", "value", "path", "expected"),
    [
        ("int", True, "x", "int"),
        ("bool", 1, "x", "bool"),
        ("int", 2.5, "x", "int"),
        ("str", None, "x", "str"),
        ("list[int]", [1, "2"], "x[1]", "int"),
        ("dict[str, float]", {"a": "b"}, "x['a']", "float"),
        ("optional[list[int]]", "no", "x", "list[int]"),
    ],
)
def test_the_first_misfit_is_named_with_its_path(
    type_text: str, value: Any, path: str, expected: str
) -> None:
    problem = type_problem(value, declared(type_text), "x", no_models)
    assert problem is not None
    assert (problem.path, problem.expected) == (path, expected)


def test_json_keys_are_read_from_their_text_only_when_asked() -> None:
    ref = declared("dict[int, str]")
    assert type_problem({"1": "a"}, ref, "x", no_models, json_keys=True) is None
    problem = type_problem({"1": "a"}, ref, "x", no_models)
    assert problem is not None and problem.path == "a key of x"


def test_values_are_described_in_json_words_or_as_a_flow_file_writes_them() -> None:
    assert [describe_value(v) for v in (None, True, {})] == [
        "null",
        "the boolean true",
        "an object",
    ]
    assert [describe_value(v, flow=True) for v in (None, True, {})] == [
        "None",
        "the boolean True",
        "a dict",
    ]
