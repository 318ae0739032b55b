"""Reads before writes: a state key read on some path from the entry where no earlier step wrote
it, and the state schema does not declare it.

A "must be written" forward analysis per scope, with sets of keys as bit masks so that flows of
10,000 steps stay linear. Each scope yields its *free reads* (keys it reads before writing them
itself); a graph step reads its body's free reads, a map reads its item key and its branches'
free reads (minus the item variable), and the arrows leaving a step read their conditions' keys
after it ran. What is still free at the top level is reported. Keys declared in the ``state``
block count as provided: a field without a default is the caller's to pass (``--state``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import networkx as nx

from flowc.compiler.checks.common import error
from flowc.compiler.ir import (
    ENTRY,
    ActionNode,
    FlowIR,
    GraphNode,
    ItemsFromState,
    MapNode,
)
from flowc.errors import Diagnostic, Span

F_READ_BEFORE_WRITE = "F301"


@dataclass(frozen=True, slots=True)
class Read:
    """A key read at ``span`` by ``reader`` (a step name, or the condition of an arrow)."""

    key: str
    span: Span
    reader: str
    in_condition: bool = False


def check_dataflow(ir: FlowIR) -> Iterator[Diagnostic]:
    analysis = Dataflow()
    provided = {spec.name for spec in ir.meta.schema}
    written = analysis.written_anywhere(ir)
    seen: set[tuple[str, Span]] = set()
    for read in analysis.free_reads(ir):
        if read.key in provided or (read.key, read.span) in seen:
            continue
        seen.add((read.key, read.span))
        if read.in_condition and read.key not in written:
            continue  # an unknown key in a condition: check_conditions reports it
        if read.key in written:
            message = (
                f"'{read.key}' is read by {read.reader} but may not be written yet: "
                "on some path from `start` no earlier step writes it"
            )
        else:
            message = f"'{read.key}' is read by {read.reader} but no step ever writes it"
        yield error(
            F_READ_BEFORE_WRITE,
            message,
            read.span,
            f"declare it with an initial value, `state {{ {read.key}: … = … }}`, "
            "or write it in an earlier step",
        )


class Dataflow:
    """Free reads and writes of scopes and steps, each computed once per object."""

    def __init__(self) -> None:
        self._free: dict[int, list[Read]] = {}
        self._writes: dict[int, frozenset[str]] = {}

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
        if isinstance(node, ActionNode):
            return frozenset(node.write_keys)
        if isinstance(node, GraphNode):
            return self.scope_writes(node.body)
        if isinstance(node, MapNode):
            return frozenset(node.writes)
        return frozenset()

    def step_reads(self, node: object) -> list[Read]:
        if isinstance(node, ActionNode):
            return [Read(k.name, k.span, f"action '{node.name}'") for k in node.reads]
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
        order = list(reversed(list(nx.dfs_postorder_nodes(scope, ENTRY))))
        bits: dict[str, int] = {}

        def mask(keys: frozenset[str]) -> int:
            value = 0
            for key in keys:
                value |= 1 << bits.setdefault(key, len(bits))
            return value

        writes = {name: mask(self.step_writes(scope.node_of(name))) for name in order}
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
                for source in scope.predecessors(name):
                    if source in available_in:
                        value &= available_in[source] | writes[source]
                if value != available_in[name]:
                    available_in[name] = value
                    changed = True
        free: list[Read] = []
        for name in order:
            node = scope.node_of(name)
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
