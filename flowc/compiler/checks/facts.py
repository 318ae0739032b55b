"""Facts several checks share, computed once per ``run_checks``: the scopes, every action and
map, and the dataflow analysis (free reads and writes of scopes and steps, as bit masks so that
flows of 10,000 steps stay linear). A check called on its own computes them itself.

With ``python`` (the checks may import), the modules are imported here, once, and an action
whose .flow declaration omits ``reads`` or ``writes`` counts with its callable's own declaration
(``checks.imported.ActionKeys``), as the build will run it."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

import networkx as nx

from flowc.compiler.checks.imported import ActionKeys, PythonObjects
from flowc.compiler.ir import (
    ENTRY,
    HALT,
    ActionNode,
    FlowIR,
    GraphNode,
    ItemsFromState,
    Key,
    MapNode,
    Transition,
    iter_scopes,
)
from flowc.errors import Span


@dataclass(frozen=True, slots=True)
class Read:
    """A key read at ``span`` by ``reader`` (a step name, or the condition of an arrow)."""

    key: str
    span: Span
    reader: str
    in_condition: bool = False


class ScopeShape:
    """The shape of one scope's graph, each part worked out once, when a check first asks:
    every step's arrows in the order they are tried, what the entry reaches, what reaches the
    halt, and the loops no step can leave. Plain dict walks over networkx's adjacency (its
    traversal functions cost several times more per node)."""

    __slots__ = ("_finishing", "_reached", "_trapped", "arrows", "scope")

    def __init__(self, scope: FlowIR) -> None:
        self.scope = scope
        self.arrows = scope.arrow_table()
        self._reached: set[str] | None = None
        self._finishing: set[str] | None = None
        self._trapped: list[set[str]] | None = None

    @property
    def reached(self) -> set[str]:
        """The nodes a path from ``start`` reaches (``nx.descendants``); the scope has one."""
        if self._reached is None:
            self._reached = reachable(self.scope._succ, ENTRY)
        return self._reached

    @property
    def finishing(self) -> set[str]:
        """The nodes with a path to ``end`` (``nx.ancestors``); the scope has one."""
        if self._finishing is None:
            self._finishing = reachable(self.scope._pred, HALT)
        return self._finishing

    @property
    def trapped(self) -> list[set[str]]:
        if self._trapped is None:
            self._trapped = trapped_cycles(self.scope, self.arrows)
        return self._trapped


@dataclass(slots=True)
class FlowFacts:
    scopes: tuple[FlowIR, ...]
    actions: tuple[ActionNode, ...]
    maps: tuple[MapNode, ...]
    dataflow: Dataflow
    written: frozenset[str] = field(default=frozenset())
    """Every key some step, reduce or map writes, anywhere in the flow."""
    python: PythonObjects | None = None
    """The flow's Python objects, imported (``None``: the checks do not import)."""
    shapes: dict[int, ScopeShape] = field(default_factory=dict)

    def shape(self, scope: FlowIR) -> ScopeShape:
        return shape_of(self.shapes, scope)

    def trapped_cycles(self, scope: FlowIR) -> list[set[str]]:
        return self.shape(scope).trapped


def shape_of(shapes: dict[int, ScopeShape], scope: FlowIR) -> ScopeShape:
    """``scope``'s shape from ``shapes`` (by ``id``), made on first use."""
    found = shapes.get(id(scope))
    if found is None:
        found = shapes[id(scope)] = ScopeShape(scope)
    return found


def flow_facts(ir: FlowIR, python: PythonObjects | None = None) -> FlowFacts:
    """The shared facts; with ``python``, the flow's modules are imported into it first."""
    scopes = tuple(scope for _, scope in iter_scopes(ir))
    actions: dict[int, ActionNode] = {}
    maps: dict[int, MapNode] = {}
    for scope in scopes:
        for node in (*scope.steps(), *scope.meta.declarations):
            kind = type(node)
            if kind is ActionNode:
                actions.setdefault(id(node), node)
            elif kind is MapNode:
                maps.setdefault(id(node), node)
                for branch in node.branches:
                    if type(branch.step) is ActionNode:
                        actions.setdefault(id(branch.step), branch.step)
    keys: dict[int, ActionKeys] = {}
    if python is not None:
        python.import_flow(scopes, actions.values())
        keys = {key: python.action_keys(action) for key, action in actions.items()}
    shapes: dict[int, ScopeShape] = {}
    dataflow = Dataflow(keys, shapes)
    facts = FlowFacts(scopes, tuple(actions.values()), tuple(maps.values()), dataflow)
    facts.shapes = shapes
    facts.written = dataflow.written_anywhere(ir)
    facts.python = python
    return facts


class Dataflow:
    """Free reads and writes of scopes and steps, each computed once per object. ``python_keys``
    holds, by ``id`` of the action, what importing found an action reads and writes."""

    def __init__(
        self,
        python_keys: Mapping[int, ActionKeys] | None = None,
        shapes: dict[int, ScopeShape] | None = None,
    ) -> None:
        self._free: dict[int, list[Read]] = {}
        self._writes: dict[int, frozenset[str]] = {}
        self._step_writes: dict[int, frozenset[str]] = {}
        self._python_keys = python_keys or {}
        self._shapes = {} if shapes is None else shapes

    def action_reads(self, node: ActionNode) -> tuple[Key, ...]:
        """The keys ``node`` reads: its .flow ``reads``, else what its callable declares."""
        found = self._python_keys.get(id(node))
        return node.reads if found is None else found.reads

    def action_writes(self, node: ActionNode) -> tuple[Key, ...]:
        """The keys ``node`` writes: its .flow ``writes``, else what its callable declares."""
        found = self._python_keys.get(id(node))
        return node.writes if found is None else found.writes

    def written_anywhere(self, ir: FlowIR) -> frozenset[str]:
        keys = set(self.scope_writes(ir))
        for declared in ir.meta.declarations:
            keys |= self.step_writes(declared)
        return frozenset(keys)

    def scope_writes(self, scope: FlowIR) -> frozenset[str]:
        """Every key some step of the scope may write."""
        found = self._writes.get(id(scope))
        if found is None:
            keys: set[str] = set()
            for node in scope.steps():
                keys |= self.step_writes(node)
            found = self._writes[id(scope)] = frozenset(keys)
        return found

    def step_writes(self, node: object) -> frozenset[str]:
        found = self._step_writes.get(id(node))
        if found is None:
            kind = type(node)
            if kind is ActionNode:
                found = frozenset(key.name for key in self.action_writes(node))  # type: ignore[arg-type]
            elif kind is GraphNode:
                found = self.scope_writes(node.body)  # type: ignore[attr-defined]
            elif kind is MapNode:
                found = frozenset(node.writes)  # type: ignore[attr-defined]
            else:
                found = frozenset()
            self._step_writes[id(node)] = found
        return found

    def step_reads(self, node: object) -> list[Read]:
        if isinstance(node, ActionNode):
            found = self._python_keys.get(id(node))
            reader = f"action '{node.name}'"
            if found is not None and found.reads_from_python:
                reader += f" (as '{node.callable.written}' declares)"
            return [Read(k.name, k.span, reader) for k in self.action_reads(node)]
        if isinstance(node, GraphNode):
            return self.free_reads(node.body)
        if isinstance(node, MapNode):
            reads = []
            if node.items is not None and isinstance(node.items.source, ItemsFromState):
                key = node.items.source.key
                reads.append(Read(key.name, key.span, f"map '{node.name}'"))
            var = node.items.var.name if node.items else None
            for branch in node.branches:
                reads.extend(r for r in self.step_reads(branch.step) if r.key != var)
            return reads
        return []

    def free_reads(self, scope: FlowIR) -> list[Read]:
        found = self._free.get(id(scope))
        if found is None:
            self._free[id(scope)] = []  # a graph that contains itself is reported elsewhere
            found = self._free[id(scope)] = self._analyse(scope)
        return found

    def _analyse(self, scope: FlowIR) -> list[Read]:
        """Must-written keys at each step as bit masks (one bit per key), iterated to a fixed
        point in reverse postorder; then every read is tested against its step's mask. ``Read``
        objects are made only for the reads found free."""
        if ENTRY not in scope:
            return []
        order = reverse_postorder(scope, ENTRY)
        nodes = scope._node
        predecessors = scope._pred
        bits: dict[str, int] = {}

        def bit(key: str) -> int:
            found = bits.get(key)
            if found is None:
                found = bits[key] = 1 << len(bits)
            return found

        writes: dict[str, int] = {}
        for name in order:
            value = 0
            for key in self.step_writes(nodes[name]["node"]):
                value |= bit(key)
            writes[name] = value
        everything = -1
        available_out = dict.fromkeys(order, everything)  # written once the step has run
        available_out[ENTRY] = 0
        inner = [(name, [p for p in predecessors[name] if p in writes]) for name in order[1:]]
        available_in: dict[str, int] = {ENTRY: 0}
        changed = True
        while changed:
            changed = False
            for name, sources in inner:
                value = everything
                for source in sources:
                    value &= available_out[source]
                if value != available_in.get(name):
                    available_in[name] = value
                    available_out[name] = value | writes[name]
                    changed = True
        free: list[Read] = []
        arrows = shape_of(self._shapes, scope).arrows
        for name in order:
            node = nodes[name]["node"]
            before = available_in[name]
            if type(node) is ActionNode:
                missing = [k for k in self.action_reads(node) if not before & bit(k.name)]
                if missing:
                    free.extend(r for r in self.step_reads(node) if not before & bit(r.key))
            else:
                free.extend(r for r in self.step_reads(node) if not before & bit(r.key))
            after = available_out[name]
            for target, arrow in arrows[name]:
                condition = arrow.condition
                if condition is None:
                    continue
                missing_keys = [k for k in condition.expression.reads if not after & bit(k)]
                if missing_keys:
                    reader = f"the condition of `{name} -> {target}`"
                    free.extend(
                        Read(key, condition.span, reader, in_condition=True) for key in missing_keys
                    )
        return free


def reverse_postorder(graph: nx.MultiDiGraph, source: str) -> list[str]:
    """The nodes reachable from ``source`` in reverse postorder of a depth-first search (each
    node before its successors, loops aside): the order that makes a forward analysis converge
    in two passes. Iterative, so long chains need no recursion."""
    successors = graph._succ
    seen = {source}
    postorder: list[str] = []
    stack = [(source, iter(successors[source]))]
    while stack:
        node, children = stack[-1]
        for child in children:
            if child not in seen:
                seen.add(child)
                stack.append((child, iter(successors[child])))
                break
        else:
            stack.pop()
            postorder.append(node)
    postorder.reverse()
    return postorder


def reachable(adjacency: Mapping[str, Mapping[str, object]], source: str) -> set[str]:
    """The nodes a path of at least one arrow leads to from ``source`` (``source`` excluded, as
    in ``nx.descendants``), following ``adjacency`` (a graph's ``_succ``, or ``_pred`` for
    ancestors)."""
    seen = {source}
    stack = [source]
    while stack:
        for target in adjacency[stack.pop()]:
            if target not in seen:
                seen.add(target)
                stack.append(target)
    seen.discard(source)
    return seen


def trapped_cycles(
    scope: FlowIR, arrows: Mapping[str, list[tuple[str, Transition]]] | None = None
) -> list[set[str]]:
    """The strongly connected components (with a cycle) that no step can leave: at each of their
    steps the first default arrow stays inside and no earlier conditional arrow leaves. A step
    with no default arrow can always leave (when no condition holds, the flow stops). In the
    order ``nx.strongly_connected_components`` yields them."""
    table = scope.arrow_table() if arrows is None else arrows
    successors = scope._succ
    trapped = []
    for component in strongly_connected_components(successors):
        if len(component) == 1:
            (only,) = component
            if only not in successors[only]:
                continue
        if not any(_can_leave(table[name], component) for name in component):
            trapped.append(component)
    return trapped


def strongly_connected_components(
    successors: Mapping[str, Mapping[str, object]],
) -> Iterator[set[str]]:
    """The components of the graph ``successors`` describes, as networkx's non-recursive Tarjan
    finds them (same visiting order, so the same order out), over plain dicts."""
    preorder: dict[str, int] = {}
    lowlink: dict[str, int] = {}
    found: set[str] = set()
    pending: list[str] = []
    counter = 0
    neighbours = {name: iter(targets) for name, targets in successors.items()}
    for source in successors:
        if source in found:
            continue
        queue = [source]
        while queue:
            node = queue[-1]
            if node not in preorder:
                counter += 1
                preorder[node] = counter
            descended = False
            for target in neighbours[node]:
                if target not in preorder:
                    queue.append(target)
                    descended = True
                    break
            if descended:
                continue
            low = own = preorder[node]
            for target in successors[node]:
                if target not in found:
                    other = lowlink[target] if preorder[target] > own else preorder[target]
                    if other < low:
                        low = other
            lowlink[node] = low
            queue.pop()
            if low == own:
                component = {node}
                while pending and preorder[pending[-1]] > own:
                    component.add(pending.pop())
                found.update(component)
                yield component
            else:
                pending.append(node)


def _can_leave(arrows: list[tuple[str, Transition]], component: set[str]) -> bool:
    for target, arrow in arrows:
        if target not in component:
            return True
        if arrow.condition is None:
            return False
    return True
