"""Loops with no way out: a cycle where, at every step, the arrow tried first that can always be
taken (the first default) stays in the cycle, and no earlier conditional arrow leaves it.

A step with no default arrow can leave any loop (when no condition holds, the flow stops), so
it never traps (``facts.trapped_cycles``). The dead-end check skips the steps reported here.
"""

from __future__ import annotations

from collections.abc import Iterator

from flowc.compiler.checks.common import error
from flowc.compiler.checks.facts import FlowFacts, flow_facts
from flowc.compiler.ir import FlowIR, Transition
from flowc.errors import Diagnostic

F_ENDLESS_LOOP = "F217"


def check_loops(ir: FlowIR, facts: FlowFacts | None = None) -> Iterator[Diagnostic]:
    facts = facts or flow_facts(ir)
    for scope in facts.scopes:
        shape = facts.shape(scope)
        for cycle in shape.trapped:
            order = [name for name in scope.nodes if name in cycle]
            arrows = shape.arrows
            closing = _first_default(arrows[order[-1]]) or _first_default(arrows[order[0]])
            path = " → ".join([*order, order[0]])
            yield error(
                F_ENDLESS_LOOP,
                f"the loop {path} never ends: no arrow out of it can be taken",
                closing.span if closing else scope.node_of(order[0]).span,
                f"give the loop's arrow a condition (`{order[-1]} -> {order[0]} when …`) and "
                f"add an exit (`{order[-1]} -> end`) before or after it",
            )


def _first_default(arrows: list[tuple[str, Transition]]) -> Transition | None:
    return next((arrow for _, arrow in arrows if arrow.is_default), None)
