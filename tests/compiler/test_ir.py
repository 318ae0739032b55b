"""FlowIR: a networkx multigraph with frozen attributes, typed accessors and invariants."""

from __future__ import annotations

import dataclasses
import inspect
import random

import networkx as nx
import pytest

from flowc.compiler import ast
from flowc.compiler import ir as ir_module
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
    UnknownNode,
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


DRAFTED = [
    (ir_module.new_key, Key),
    (ir_module.new_callable_spec, CallableSpec),
    (ir_module.new_action_node, ActionNode),
    (ir_module.new_map_branch, MapBranch),
    (ir_module.new_items_from_state, ItemsFromState),
    (ir_module.new_map_items, MapItems),
    (ir_module.new_retry_spec, RetrySpec),
    (ir_module.new_map_options, MapOptions),
    (ir_module.new_reduce_spec, ReduceSpec),
    (ir_module.new_map_node, MapNode),
    (ir_module.new_condition_spec, ConditionSpec),
    (ir_module.new_transition, Transition),
]


def _names(count: int) -> tuple[ast.Name, ...]:
    return tuple(ast.Name(f"k{n}", Span("t.flow", n + 1, 3, n + 1, 5)) for n in range(count))


def _arguments(count: int) -> tuple[ast.Argument, ...]:
    return tuple(
        ast.Argument(name, ast.Number(n), Span("t.flow", 1, 4 * n + 1, 1, 4 * n + 4))
        for n, name in enumerate(_names(count))
    )


DRAFTED_TUPLES = [
    (ir_module.new_keys, _names, lambda name: Key(name.value, name.span)),
    (ir_module.new_bound_args, _arguments, lambda a: BoundArg(a.name.value, a.value, a.span)),
]
"""Builders of a tuple of IR objects from the AST items that write them, each item as the
class's ``__init__`` would make it from that item."""


def test_every_draft_builder_is_tested() -> None:
    """A ``new_*`` builder added to ir.py without a row in ``DRAFTED`` or ``DRAFTED_TUPLES``
    fails here."""
    builders = {name for name in vars(ir_module) if name.startswith("new_")}
    tested = DRAFTED + [(build, None) for build, _, _ in DRAFTED_TUPLES]
    assert builders == {build.__name__ for build, _ in tested}


@pytest.mark.parametrize(
    ("build", "written", "made_by_init"), DRAFTED_TUPLES, ids=lambda c: getattr(c, "__name__", "")
)
@pytest.mark.parametrize("count", range(4))
def test_tuple_builders_make_what_the_dataclass_init_makes_of_each_item(
    build, written, made_by_init, count: int
) -> None:
    """A tuple, in the items' order, of objects with the same type, fields (spans included),
    repr, equality and hash as ``__init__`` makes of each item; frozen, without a
    ``__dict__``; none for no items."""
    items = written(count)
    made = build(items)
    expected = tuple(made_by_init(item) for item in items)
    assert type(made) is tuple and made == expected and repr(made) == repr(expected)
    for one, other in zip(made, expected, strict=True):
        assert type(one) is type(other)
        for item in dataclasses.fields(other):
            assert getattr(one, item.name) == getattr(other, item.name)
        assert hash(one) == hash(other) and not hasattr(one, "__dict__")
        with pytest.raises(dataclasses.FrozenInstanceError):
            one.span = None  # type: ignore[misc]


@pytest.mark.parametrize(("build", "cls"), DRAFTED, ids=lambda c: getattr(c, "__name__", ""))
def test_draft_builders_take_the_parameters_of_the_dataclass_init(build, cls) -> None:
    """Same parameter names, order and defaults as the ``__init__`` ``dataclass`` generates."""
    assert [(p.name, p.default) for p in inspect.signature(build).parameters.values()] == [
        (p.name, p.default) for p in inspect.signature(cls).parameters.values()
    ]


@pytest.mark.parametrize(("build", "cls"), DRAFTED, ids=lambda c: getattr(c, "__name__", ""))
def test_draft_builders_build_what_the_dataclass_init_builds(build, cls) -> None:
    """Each value lands in its own field, positionally and by keyword; the fields the builder
    does not take (a node's ``kind``) and those left to their defaults are the class's; same
    type, repr, equality and hash as ``cls(...)``; frozen, without a ``__dict__``; and
    ``dataclasses.replace`` still works."""
    span = Span("t.flow", 1, 1)
    taken = [f for f in dataclasses.fields(cls) if f.init]
    values = [span if f.name == "span" else f"v{n}" for n, f in enumerate(taken)]
    expected = cls(*values)
    for made in (build(*values), build(**{f.name: v for f, v in zip(taken, values, strict=True)})):
        assert type(made) is cls
        assert [getattr(made, f.name) for f in taken] == values
        for item in dataclasses.fields(cls):
            assert getattr(made, item.name) == getattr(expected, item.name)
        assert repr(made) == repr(expected) and made == expected and hash(made) == hash(expected)
        assert not hasattr(made, "__dict__")
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(made, taken[0].name, "other")
        moved = dataclasses.replace(made, **{taken[0].name: "other"})
        assert getattr(moved, taken[0].name) == "other" and type(moved) is cls
    required = [f for f in taken if f.default is dataclasses.MISSING]
    least = [span if f.name == "span" else f"v{n}" for n, f in enumerate(required)]
    assert build(*least) == cls(*least) and repr(build(*least)) == repr(cls(*least))


def _layout(graph: FlowIR) -> list[object]:
    """networkx's dicts of ``graph`` as nested lists of items, so that order counts, with the
    type of every dict."""

    def items(value: object) -> object:
        if isinstance(value, dict):
            return (type(value), [(key, items(inner)) for key, inner in value.items()])
        return value

    return [items(graph._node), items(graph._succ), items(graph._pred), graph._adj is graph._succ]


def _random_scope(seed: int) -> tuple[list[UnknownNode], list[tuple[str, str, Transition]]]:
    """Steps and arrows as lowering gives them: orders 0, 1, … per source, self loops and
    parallel arrows between the same two steps included."""
    rng = random.Random(seed)
    span = Span("t.flow", 1, 1)
    steps = [UnknownNode(f"s{n}", span) for n in range(rng.randint(1, 8))]
    orders: dict[str, int] = {}
    arrows = []
    for _ in range(rng.randint(0, 20)):
        source, target = rng.choice(steps).name, rng.choice(steps).name
        order = orders[source] = orders.get(source, -1) + 1
        arrows.append((source, target, Transition(order, Span("t.flow", order + 1, 1))))
    return steps, arrows


@pytest.mark.parametrize("seed", range(60))
def test_add_steps_and_arrows_makes_the_graph_add_node_and_add_edge_make(seed: int) -> None:
    """The fast path writes networkx's dicts itself: the same dicts in the same order (nodes,
    successors, predecessors, keys), the key dicts shared between successors and predecessors,
    a step already in the graph left as it is; and networkx's own calls work on it after."""
    steps, arrows = _random_scope(seed)
    fast, slow = FlowIR(), FlowIR()
    for graph in (fast, slow):
        graph.add_step(steps[-1])  # already there: neither path replaces it
    fast.add_steps_and_arrows({step.name: step for step in reversed(steps)}, arrows)
    for step in reversed(steps):
        slow.add_step(step)
    for source, target, edge in arrows:
        slow.add_transition(source, target, edge)
    assert _layout(fast) == _layout(slow)
    for source, targets in fast._succ.items():
        for target, keyed in targets.items():
            assert fast._pred[target][source] is keyed
    assert fast == slow
    for graph in (fast, slow):
        graph.add_edge("s0", "new", key=7, edge=None)
    assert _layout(fast) == _layout(slow)
    assert nx.descendants(fast, "s0") == nx.descendants(slow, "s0")


def _table_from_scratch(graph: FlowIR) -> list[tuple[str, list[tuple[str, Transition]]]]:
    graph.__networkx_cache__.clear()
    return list(graph.arrow_table().items())


@pytest.mark.parametrize("seed", range(60))
def test_the_arrow_table_add_steps_and_arrows_keeps_is_the_one_made_from_the_graph(
    seed: int,
) -> None:
    """On an empty graph ``add_steps_and_arrows`` leaves the table ready (arrows in order, as
    lowering gives them), or, given them out of order, none that ``arrow_table`` would not make
    itself; either way the same rows, in node order, as made from networkx's dicts."""
    steps, arrows = _random_scope(seed)
    for given in (arrows, list(reversed(arrows))):
        graph = FlowIR()
        graph.add_steps_and_arrows({step.name: step for step in steps}, given)
        kept = list(graph.arrow_table().items())
        assert kept == _table_from_scratch(graph)
    in_order = FlowIR()
    in_order.add_steps_and_arrows({step.name: step for step in steps}, arrows)
    assert "flowc.arrow_table" in in_order.__networkx_cache__


def test_the_arrow_table_is_made_once_and_follows_changes_made_through_networkx(
    ir: FlowIR,
) -> None:
    table = ir.arrow_table()
    assert ir.arrow_table() is table
    assert list(table.items()) == _table_from_scratch(ir)
    ir.add_edge("a", "end", key=2, edge=Transition(2, ir.meta.span))
    assert [target for target, _ in ir.arrow_table()["a"]] == ["g", "m1", "end"]
    ir.remove_edge("a", "g")
    assert [target for target, _ in ir.arrow_table()["a"]] == ["m1", "end"]
    copied = ir.copy()
    assert list(copied.arrow_table().items()) == list(ir.arrow_table().items())


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
