"""AST nodes: frozen, slotted, equal by structure (never by position), walkable."""

from __future__ import annotations

import dataclasses

import pytest

from flowc.compiler import ast, parse_or_raise
from flowc.errors import Span

NODE_CLASSES = [
    value
    for value in vars(ast).values()
    if isinstance(value, type)
    and dataclasses.is_dataclass(value)
    and value.__module__ == ast.__name__
]


@pytest.mark.parametrize("cls", NODE_CLASSES, ids=lambda c: c.__name__)
def test_every_node_is_frozen_slotted_and_ignores_its_span_in_equality(cls):
    params = cls.__dataclass_params__
    assert params.frozen
    assert "__slots__" in vars(cls)
    if cls is ast.MapSettings:
        return
    span = next(f for f in dataclasses.fields(cls) if f.name == "span")
    assert span.compare is False


def test_equality_is_structural():
    one = parse_or_raise("action a = f reads x\n", "one.flow")
    two = parse_or_raise("\n\n   action   a =  f\n     reads   x\n", "two.flow")
    assert one == two
    assert one.statements[0].span != two.statements[0].span
    assert hash(one) == hash(two)


def test_nodes_cannot_be_mutated():
    name = ast.Name("a", Span("f", 1, 1))
    with pytest.raises(dataclasses.FrozenInstanceError):
        name.value = "b"  # type: ignore[misc]


def test_walk_visits_every_node_in_source_order():
    module = parse_or_raise("action a = f(x=[1]) reads k\ngraph g {\n  a -> end\n}\n")
    kinds = [type(node).__name__ for node in ast.walk(module)]
    assert kinds[:4] == ["Module", "ActionDecl", "Name", "CallableRef"]
    assert "ListLiteral" in kinds and "Endpoint" in kinds


def test_module_views_select_statements_by_kind():
    module = parse_or_raise(
        "flow f\nfrom m import x\nstate { a: int = 1 }\naction a = x\n"
        "graph g {}\nmap m = [a]\na -> end\n"
    )
    assert module.name == "f"
    assert [len(v) for v in (module.imports, module.actions, module.graphs, module.maps)] == [
        1,
        1,
        1,
        1,
    ]
    assert module.transitions[0].path[-1].is_end
    assert module.state_fields[0].default.to_python() == 1


def test_literal_values_convert_to_python():
    field = parse_or_raise('state { d: any = {"a": [1, 2.5, True, None, "s"]} }').state_fields[0]
    assert field.default.to_python() == {"a": [1, 2.5, True, None, "s"]}


def test_duration_and_percent_in_base_units():
    assert ast.Duration(250, "ms").seconds == 0.25
    assert ast.Duration(2, "m").seconds == 120
    assert ast.Percent(10).fraction == 0.1


@pytest.mark.parametrize("cls", NODE_CLASSES, ids=lambda c: c.__name__)
def test_positional_builds_the_node_init_builds(cls):
    """``ast.positional`` (the fast paths' constructor, one shape per field count) sets every
    field in order: the same type, fields, repr and hash as ``cls(*values)``, still frozen."""
    values = [f"v{index}" for index, _ in enumerate(dataclasses.fields(cls))]
    node = ast.positional(cls)(*values)
    expected = cls(*values)
    assert type(node) is cls
    assert [getattr(node, f.name) for f in dataclasses.fields(cls)] == values
    assert repr(node) == repr(expected) and node == expected and hash(node) == hash(expected)
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(node, dataclasses.fields(cls)[0].name, "other")


def test_positional_refuses_the_wrong_number_of_values():
    with pytest.raises(TypeError):
        ast.positional(ast.MapSettings)(1, 2)
    with pytest.raises(TypeError):
        ast.positional(ast.ActionDecl)(1, 2)


DRAFTED = [
    (ast.new_name, ast.Name),
    (ast.new_callable_ref, ast.CallableRef),
    (ast.new_argument, ast.Argument),
    (ast.new_string, ast.String),
    (ast.new_number, ast.Number),
    (ast.new_constant, ast.Constant),
    (ast.new_action_decl, ast.ActionDecl),
    (ast.new_endpoint, ast.Endpoint),
    (ast.new_transition, ast.Transition),
    (ast.new_condition, ast.Condition),
]


@pytest.mark.parametrize(("build", "cls"), DRAFTED, ids=lambda c: getattr(c, "__name__", ""))
def test_drafted_builders_build_the_node_init_builds(build, cls):
    """The drafted builders (a mutable twin's slots set, then ``__class__`` assigned) set every
    field in order: the same type, fields, repr and hash as ``cls(*values)``; frozen, without a
    ``__dict__``, and no draft left behind."""
    values = [f"v{index}" for index, _ in enumerate(dataclasses.fields(cls))]
    node = build(*values)
    expected = cls(*values)
    assert type(node) is cls
    assert [getattr(node, f.name) for f in dataclasses.fields(cls)] == values
    assert repr(node) == repr(expected) and node == expected and hash(node) == hash(expected)
    assert not hasattr(node, "__dict__")
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(node, dataclasses.fields(cls)[0].name, "other")


@pytest.mark.parametrize("cls", NODE_CLASSES, ids=lambda c: c.__name__)
def test_a_draft_class_has_the_layout_of_its_node_class(cls):
    """What makes the ``__class__`` assignment legal; CPython refuses it between layouts that
    differ, as it does here for a draft with one slot fewer."""
    draft = ast.draft_class(cls)()
    draft.__class__ = cls
    assert type(draft) is cls
    fewer = type("Fewer", cls.__bases__, {"__slots__": cls.__slots__[1:]})()
    with pytest.raises(TypeError):
        fewer.__class__ = cls
