"""FlowIR: a networkx multigraph with frozen attributes, typed accessors and invariants."""

from __future__ import annotations

import dataclasses
import inspect

import networkx as nx
import pytest

from flowc.compiler.ir import (
    ENTRY,
    HALT,
    ActionNode,
    BoundArg,
    CallableSpec,
    ConditionSpec,
    FlowIR,
    ItemsFromState,
    Key,
    MapBranch,
    MapItems,
    MapNode,
    MapOptions,
    NodeKind,
    ReduceSpec,
    RetrySpec,
    Transition,
    iter_scopes,
    iter_spans,
    validate_ir,
)
from flowc.compiler.lower import lower
from flowc.compiler.parse import parse_or_raise
from flowc.errors import Span

TEXT = """\
from m import f
action a = f writes x
action b = f writes y
graph g { start -> b -> end }
map m1 = [a, g] { reduce xs = collect(x) }
start -> a
a -> g when x > 1
a -> m1
g -> end
m1 -> end
"""


@pytest.fixture
def ir() -> FlowIR:
    return lower(parse_or_raise(TEXT, "t.flow"))


def test_it_is_a_networkx_digraph_so_graph_algorithms_apply(ir: FlowIR) -> None:
    assert isinstance(ir, nx.DiGraph) and isinstance(ir, nx.MultiDiGraph)
    assert nx.has_path(ir, ENTRY, HALT)
    assert next(iter(nx.topological_sort(ir))) == ENTRY


def test_node_and_edge_attributes_are_frozen_dataclasses(ir: FlowIR) -> None:
    node = ir.nodes["a"]["node"]
    assert isinstance(node, ActionNode) and node.kind is NodeKind.ACTION
    with pytest.raises(dataclasses.FrozenInstanceError):
        node.name = "b"  # type: ignore[misc]
    edge = ir.edges["a", "g", 0]["edge"]
    assert isinstance(edge, Transition) and edge.condition.text == "x > 1"
    with pytest.raises(dataclasses.FrozenInstanceError):
        edge.order = 3  # type: ignore[misc]


HAND_WRITTEN_INIT = [
    Key, CallableSpec, BoundArg, ActionNode, Transition, ConditionSpec, MapBranch, ItemsFromState,
    MapItems, RetrySpec, ReduceSpec, MapNode,
]  # fmt: skip


@pytest.mark.parametrize("kind", HAND_WRITTEN_INIT)
def test_hand_written_constructors_take_every_init_field_as_the_generated_ones_would(
    kind: type,
) -> None:
    """These classes set their slots in their own ``__init__`` (for speed): it must take the
    same parameters, with the same defaults, as the one ``dataclass`` would generate, set every
    field, and leave the instances frozen."""
    empty = inspect.Parameter.empty
    expected = [
        (f.name, empty if f.default is dataclasses.MISSING else f.default)
        for f in dataclasses.fields(kind)
        if f.init
    ]
    given = list(inspect.signature(kind).parameters.values())
    assert [(p.name, p.default) for p in given] == expected
    span = Span("t.flow", 1, 1)
    values = {p.name: f"v{n}" for n, p in enumerate(given)} | {"span": span}
    made = kind(**values)
    for name, value in values.items():
        assert getattr(made, name) == value
    assert made == kind(**values) and hash(made) == hash(kind(**values))
    assert dataclasses.replace(made, span=Span("u.flow", 2, 2)).span.file == "u.flow"
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.span = span  # type: ignore[misc]
    assert ActionNode("a", CallableSpec(None, "f", "f", span), span).kind is NodeKind.ACTION


@pytest.mark.parametrize("kind", [*HAND_WRITTEN_INIT, MapOptions])
def test_hand_written_constructors_set_the_fields_they_do_not_take_to_their_defaults(
    kind: type,
) -> None:
    """``kind`` (a node's ``NodeKind``) is no parameter: the ``__init__`` sets it all the same;
    positional arguments land in field order; defaults are the fields' (``MapOptions`` has no
    ``span``, so the test above leaves it to this one)."""
    span = Span("t.flow", 1, 1)
    taken = [f for f in dataclasses.fields(kind) if f.init]
    given = list(inspect.signature(kind).parameters.values())
    assert [(p.name, p.default) for p in given] == [
        (f.name, inspect.Parameter.empty if f.default is dataclasses.MISSING else f.default)
        for f in taken
    ]
    made = kind(*[span if f.name == "span" else f"v{n}" for n, f in enumerate(taken)])
    for n, item in enumerate(taken):
        assert getattr(made, item.name) == (span if item.name == "span" else f"v{n}")
    for item in dataclasses.fields(kind):
        if not item.init:
            assert getattr(made, item.name) == item.default


def test_accessors_give_entry_halts_steps_and_ordered_arrows(ir: FlowIR) -> None:
    assert ir.entry == "a"
    assert ir.halts == ("g", "m1")
    assert [n.name for n in ir.steps()] == ["a", "g", "m1"]
    assert [(v, t.order, t.is_default) for _, v, t in ir.outgoing("a")] == [
        ("g", 0, False),
        ("m1", 1, True),
    ]
    assert ir.meta.name is None and ir.meta.file == "t.flow"


def test_scopes_are_each_visited_once_with_their_path(ir: FlowIR) -> None:
    paths = [path for path, _ in iter_scopes(ir)]
    assert paths == [(), ("g",)]  # g is a step and a branch: one body


def test_every_span_is_present_and_the_invariants_hold(ir: FlowIR) -> None:
    assert validate_ir(ir) == []
    assert all(span is not None for _, span in iter_spans(ir))


def test_validate_ir_reports_broken_invariants(ir: FlowIR) -> None:
    broken = ir.copy()
    broken.add_edge("a", "m1", key=7, edge=Transition(7, ir.meta.span))
    broken.add_node("stray")
    problems = validate_ir(broken)
    assert any("orders" in p for p in problems)
    assert any("'stray'" in p for p in problems)


def test_equality_includes_spans(ir: FlowIR) -> None:
    moved = lower(parse_or_raise("\n" + TEXT, "t.flow"))
    assert moved != ir
    assert lower(parse_or_raise(TEXT, "t.flow")) == ir
