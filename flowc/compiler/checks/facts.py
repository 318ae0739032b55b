"""Facts several checks share, computed once per ``run_checks``: the scopes, every action and
map, and the dataflow analysis (free reads and writes of scopes and steps, as bit masks so that
flows of 10,000 steps stay linear). A check called on its own computes them itself.

With ``python`` (the checks may import), the modules are imported here, once, and an action
whose .flow declaration omits ``reads`` or ``writes`` counts with its callable's own declaration
(``checks.imported.ActionKeys``), as the build will run it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import networkx as nx

from flowc.compiler.checks.imported import ActionKeys, PythonObjects
from flowc.compiler.ir import (
    ENTRY,
    ActionNode,
    FlowIR,
    GraphNode,
    ItemsFromState,
    Key,
    MapNode,
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
    _trapped: dict[int, list[set[str]]] = field(default_factory=dict)

    def trapped_cycles(self, scope: FlowIR) -> list[set[str]]:
        found = self._trapped.get(id(scope))
        if found is None:
            found = self._trapped[id(scope)] = trapped_cycles(scope)
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
    dataflow = Dataflow(keys)
    facts = FlowFacts(scopes, tuple(actions.values()), tuple(maps.values()), dataflow)
    facts.written = dataflow.written_anywhere(ir)
    facts.python = python
    return facts


class Dataflow:
    """Free reads and writes of scopes and steps, each computed once per object. ``python_keys``
    holds, by ``id`` of the action, what importing found an action reads and writes."""

    def __init__(self, python_keys: Mapping[int, ActionKeys] | None = None) -> None:
        self._free: dict[int, list[Read]] = {}
        self._writes: dict[int, frozenset[str]] = {}
        self._step_writes: dict[int, frozenset[str]] = {}
        self._python_keys = python_keys or {}

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
        if ENTRY not in scope:
            return []
        order = reverse_postorder(scope, ENTRY)
        nodes = scope._node
        predecessors = scope._pred
        bits: dict[str, int] = {}

        def mask(keys: frozenset[str]) -> int:
            value = 0
            for key in keys:
                value |= 1 << bits.setdefault(key, len(bits))
            return value

        writes = {name: mask(self.step_writes(nodes[name]["node"])) for name in order}
        everything = -1
        available_in = dict.fromkeys(order, everything)
        available_in[ENTRY] = 0
        changed = True
        while changed:
            changed = False
            for name in order:
                if name == ENTRY:
                    continue
                value = everything
                for source in predecessors[name]:
                    if source in available_in:
                        value &= available_in[source] | writes[source]
                if value != available_in[name]:
                    available_in[name] = value
                    changed = True
        free: list[Read] = []
        for name in order:
            node = nodes[name]["node"]
            before = available_in[name]
            for read in self.step_reads(node):
                if not before >> bits.setdefault(read.key, len(bits)) & 1:
                    free.append(read)
            after = before | writes[name]
            for _, target, arrow in scope.outgoing(name):
                if arrow.condition is None:
                    continue
                reader = f"the condition of `{name} -> {target}`"
                for key in arrow.condition.expression.reads:
                    if not after >> bits.setdefault(key, len(bits)) & 1:
                        free.append(Read(key, arrow.condition.span, reader, in_condition=True))
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


def trapped_cycles(scope: FlowIR) -> list[set[str]]:
    """The strongly connected components (with a cycle) that no step can leave: at each of their
    steps the first default arrow stays inside and no earlier conditional arrow leaves. A step
    with no default arrow can always leave (when no condition holds, the flow stops)."""
    trapped = []
    for component in nx.strongly_connected_components(scope):
        if len(component) == 1:
            (only,) = component
            if only not in scope._succ[only]:
                continue
        if not any(_can_leave(scope, name, component) for name in component):
            trapped.append(component)
    return trapped


def _can_leave(scope: FlowIR, name: str, component: set[str]) -> bool:
    for _, target, arrow in scope.outgoing(name):
        if target not in component:
            return True
        if arrow.is_default:
            return False
    return True
