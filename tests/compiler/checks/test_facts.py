"""The shared facts agree with their textbook definitions on many random flows: dominance with
networkx's ``immediate_dominators``, the dataflow's free reads with a plain set-based
must-analysis (single- and multi-writer keys, loops, conditions), and the trapped loops with
networkx's strongly connected components filtered by the rule, without any shortcut."""

from __future__ import annotations

import random

import networkx as nx
import pytest
from fixture_cases import FIXTURES, load_cases

from flowc.compiler.checks.facts import (
    Dataflow,
    ScopeShape,
    _may_be_trapped,
    declared_as_steps,
    dominator_intervals,
    every_step_may_stop,
    flow_facts,
    reverse_postorder,
    trapped_cycles,
)
from flowc.compiler.checks.imported import ActionKeys
from flowc.compiler.ir import ENTRY, HALT, ActionNode, FlowIR, Key, MapNode
from flowc.compiler.lower import lower
from flowc.compiler.parse import parse, parse_or_raise

KEYS = ("x", "y", "z")
SEEDS = range(150)


def random_flow(seed: int) -> str:
    """A flow of 2–8 actions over keys x, y, z: each writes a random subset (so keys end up with
    none, one or several writers) and reads a random key; random arrows between them, some
    conditional (reading ``go`` and sometimes a key), some to ``end``."""
    rng = random.Random(seed)
    count = rng.randint(2, 8)
    lines = ["from m import f", "state { go: bool = true }"]
    for n in range(count):
        writes = [k for k in KEYS if rng.random() < 0.3]
        write_clause = f" writes {', '.join(writes)}" if writes else ""
        lines.append(f"action a{n} = f reads {rng.choice(KEYS)}{write_clause}")
    lines.append("start -> a0")
    for n in range(count):
        for _ in range(rng.randint(0, 3)):
            target = "end" if rng.random() < 0.2 else f"a{rng.randrange(count)}"
            condition = rng.choice(["", " when go", f" when go and {rng.choice(KEYS)} != 0"])
            lines.append(f"a{n} -> {target}{condition}")
    return "\n".join(lines) + "\n"


def scope_of(seed: int) -> FlowIR:
    return lower(parse_or_raise(random_flow(seed), "random.flow"))


def reference_free_reads(scope: FlowIR) -> set[tuple[str, str]]:
    """``(key, reader)`` of every read some path from ``start`` reaches before any write: the
    must-written sets iterated to their greatest fixed point, with Python sets."""
    reached = {ENTRY} | nx.descendants(scope, ENTRY)
    writes = {
        name: {k.name for k in scope.node_of(name).writes} if name not in (ENTRY, HALT) else set()
        for name in reached
    }
    everything = set(KEYS)
    before = {name: set(everything) for name in reached}
    before[ENTRY] = set()
    changed = True
    while changed:
        changed = False
        for name in reached - {ENTRY}:
            value = set(everything)
            for source in scope.predecessors(name):
                if source in reached:
                    value &= before[source] | writes[source]
            if value != before[name]:
                before[name], changed = value, True
    free = set()
    for name in reached - {ENTRY, HALT}:
        free |= {
            (k.name, f"action '{name}'")
            for k in scope.node_of(name).reads
            if k.name not in before[name]
        }
    for source, target, arrow in scope.transitions():
        if source in reached and arrow.condition is not None:
            after = before[source] | writes[source]
            reader = f"the condition of `{source} -> {target}`"
            free |= {(k, reader) for k in arrow.condition.expression.reads if k not in after}
    return free


def reference_trapped(scope: FlowIR) -> list[set[str]]:
    """The loops no step can leave, by the rule: a component with a cycle where every step has
    a default arrow and every arrow up to it stays inside."""
    trapped = []
    for component in nx.strongly_connected_components(scope):
        (first,) = list(component)[:1]
        if len(component) == 1 and not scope.has_edge(first, first):
            continue
        if all(_stays(scope, name, component) for name in component):
            trapped.append(component)
    return trapped


def _stays(scope: FlowIR, name: str, component: set[str]) -> bool:
    for _, target, arrow in scope.outgoing(name):
        if target not in component:
            return False
        if arrow.condition is None:
            return True
    return False


@pytest.mark.parametrize("seed", SEEDS)
def test_free_reads_are_the_reads_some_path_reaches_unwritten(seed: int) -> None:
    scope = scope_of(seed)
    found = {(read.key, read.reader) for read in Dataflow().free_reads(scope)}
    assert found == reference_free_reads(scope), random_flow(seed)


@pytest.mark.parametrize("seed", SEEDS)
def test_trapped_loops_are_the_components_no_step_can_leave(seed: int) -> None:
    scope = scope_of(seed)
    expected = sorted(sorted(c) for c in reference_trapped(scope))
    assert sorted(sorted(c) for c in trapped_cycles(scope)) == expected, random_flow(seed)


@pytest.mark.parametrize("seed", SEEDS)
def test_dominator_intervals_answer_what_immediate_dominators_chain(seed: int) -> None:
    rng = random.Random(seed)
    graph = nx.DiGraph()
    graph.add_node(0)
    size = rng.randint(1, 12)
    for node in range(1, size):
        graph.add_edge(rng.randrange(node), node)  # everything reachable from 0
    for _ in range(rng.randint(0, 2 * size)):
        graph.add_edge(rng.randrange(size), rng.randrange(size))
    order = reverse_postorder(nx.MultiDiGraph(graph), 0)
    index = {node: position for position, node in enumerate(order)}
    first, last = dominator_intervals([[index[p] for p in graph.pred[n]] for n in order])
    idom = nx.immediate_dominators(graph, 0)
    for node in graph:
        dominators, up = {node}, node
        while up != 0:  # the root (networkx lists it as its own, or not at all)
            up = idom[up]
            dominators.add(up)
        for candidate in graph:
            d, n = index[candidate], index[node]
            answered = first[d] <= first[n] and last[n] <= last[d]
            assert answered == (candidate in dominators), (seed, candidate, node)


@pytest.mark.parametrize("seed", SEEDS)
def test_the_one_pass_stop_test_agrees_with_the_backward_walk(seed: int) -> None:
    """``every_step_may_stop`` (one pass in reverse postorder, loops not followed) rules out a
    trapped loop only where ``_may_be_trapped``'s backward walk from the stopping steps does."""
    scope = scope_of(seed)
    order = reverse_postorder(scope, ENTRY)
    if len(order) < len(scope):
        return  # some step unreached: the shapes never ask the one-pass test
    table = scope.arrow_table()
    position = {name: at for at, name in enumerate(order)}
    if every_step_may_stop(order, position, table):
        assert not _may_be_trapped(table), random_flow(seed)


def test_the_one_pass_stop_test_answers_for_some_flows_and_not_others() -> None:
    """Both outcomes occur among the random flows, so the agreement above is tested."""
    answers = set()
    for seed in SEEDS:
        scope = scope_of(seed)
        order = reverse_postorder(scope, ENTRY)
        if len(order) == len(scope):
            position = {name: at for at, name in enumerate(order)}
            answers.add(every_step_may_stop(order, position, scope.arrow_table()))
    assert answers == {True, False}


def test_the_counted_shape_answers_are_the_walked_ones() -> None:
    """``reaches_every_step`` and ``finishes_everywhere`` (told by counting) agree with
    networkx's reachability on every random flow, and both answers occur."""
    reaches, finishes = set(), set()
    for seed in SEEDS:
        scope = scope_of(seed)
        shape = ScopeShape(scope)
        steps = [name for name in scope if name not in (ENTRY, HALT)]
        expected = set(steps) <= nx.descendants(scope, ENTRY)
        assert shape.reaches_every_step == expected, random_flow(seed)
        reaches.add(expected)
        if HALT in scope:
            expected = all(nx.has_path(scope, name, HALT) for name in scope if name != HALT)
            assert shape.finishes_everywhere == expected, random_flow(seed)
            finishes.add(expected)
    assert reaches == finishes == {True, False}


@pytest.mark.parametrize("seed", SEEDS)
def test_the_conditional_arrows_are_the_table_rows_with_a_condition(seed: int) -> None:
    scope = scope_of(seed)
    table = scope.arrow_table()
    expected = [
        (source, target, arrow)
        for source, arrows in table.items()
        for target, arrow in arrows
        if arrow.condition is not None
    ]
    assert ScopeShape(scope).conditional == expected, random_flow(seed)


def _programs() -> list[tuple[str, str]]:
    """Every check fixture's program, with maps, graphs, duplicates and unused declarations."""
    cases = []
    for path in sorted(FIXTURES.glob("*.flow")):
        cases += [(f"{path.stem}: {c.title}", c.program) for c in load_cases(path.stem)]
    return cases


def _scopes(text: str) -> list[FlowIR]:
    module, _ = parse(text, str(FIXTURES / "case.flow"))
    if module is None:
        return []
    return list(flow_facts(lower(module)).scopes)


def _nodes(scope: FlowIR) -> list[object]:
    """Every step and declaration of ``scope``, and every map branch's step (``None`` too)."""
    nodes = [*(scope.node_of(name) for name in scope), *scope.meta.declarations]
    branches = [b.step for node in nodes if isinstance(node, MapNode) for b in node.branches]
    return nodes + branches


@pytest.mark.parametrize(("title", "program"), _programs(), ids=lambda value: value[:60])
def test_the_read_names_are_the_keys_of_the_step_reads(title: str, program: str) -> None:
    """``read_names`` (the free-read test's shortcut) names what ``step_reads`` reads, in
    order, for every kind of step; also where importing found an action's keys."""
    for scope in _scopes(program):
        for node in _nodes(scope):
            assert Dataflow().read_names(node) == [r.key for r in Dataflow().step_reads(node)]
            if isinstance(node, ActionNode):
                span = node.span
                found = ActionKeys((Key("p", span), Key("q", span)), (), reads_from_python=True)
                imported = {id(node): found}
                assert Dataflow(imported).read_names(node) == ["p", "q"]
                assert [r.key for r in Dataflow(imported).step_reads(node)] == ["p", "q"]


def test_declared_as_steps_is_every_declaration_among_the_steps() -> None:
    """The test by name agrees with the test by identity, and both answers occur."""
    answers = set()
    for _, program in _programs():
        for scope in _scopes(program):
            steps = {id(scope.node_of(name)) for name in scope}
            expected = {id(declared) for declared in scope.meta.declarations} <= steps
            assert declared_as_steps(scope) == expected, program
            answers.add(expected)
    assert answers == {True, False}


def test_a_scope_writes_what_its_steps_write() -> None:
    """``scope_writes`` (actions' keys read in place) is the union of ``step_writes`` over the
    scope's steps, and a map writes its reduces' targets."""
    for _, program in _programs():
        for scope in _scopes(program):
            steps = [scope.node_of(name) for name in scope]
            expected = frozenset().union(*map(Dataflow().step_writes, steps))
            assert Dataflow().scope_writes(scope) == expected, program
            for node in steps:
                if isinstance(node, MapNode):
                    assert Dataflow().step_writes(node) == frozenset(node.writes)
