"""Loops with no way out: a cycle where, at every step, the arrow tried first that can always be
taken (the first default) stays in the cycle, and no earlier conditional arrow leaves it.

A step with no default arrow can leave any loop (when no condition holds, the flow stops), so
it never traps. The dead-end check skips the steps reported here.
"""

from __future__ import annotations

from collections.abc import Iterator

import networkx as nx

from flowc.compiler.checks.common import error, scopes
from flowc.compiler.ir import FlowIR, Transition
from flowc.errors import Diagnostic

F_ENDLESS_LOOP = "F217"


def check_loops(ir: FlowIR) -> Iterator[Diagnostic]:
    for scope in scopes(ir):
        for cycle in trapped_cycles(scope):
            order = [name for name in scope.nodes if name in cycle]
            closing = _first_default(scope, order[-1]) or _first_default(scope, order[0])
            path = " → ".join([*order, order[0]])
            yield error(
                F_ENDLESS_LOOP,
                f"the loop {path} never ends: no arrow out of it can be taken",
                closing.span if closing else scope.node_of(order[0]).span,
                f"give the loop's arrow a condition (`{order[-1]} -> {order[0]} when …`) and "
                f"add an exit (`{order[-1]} -> end`) before or after it",
            )


def trapped_cycles(scope: FlowIR) -> list[set[str]]:
    """The strongly connected components (with a cycle) that no step can leave."""
    trapped = []
    for component in nx.strongly_connected_components(scope):
        if len(component) == 1:
            (only,) = component
            if not scope.has_edge(only, only):
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
    return True  # no default arrow: when no condition holds, the flow stops here


def _first_default(scope: FlowIR, name: str) -> Transition | None:
    return next((arrow for _, _, arrow in scope.outgoing(name) if arrow.is_default), None)
