"""Dead ends: every reachable step has a path to ``end``, and ``end`` itself is reachable.

Steps inside an endless loop are left to ``check_loops``, which names the loop once.
"""

from __future__ import annotations

from collections.abc import Iterator

from flowc.compiler.checks.common import error
from flowc.compiler.checks.facts import FlowFacts, flow_facts
from flowc.compiler.ir import ENTRY, HALT, FlowIR, NodeKind
from flowc.errors import Diagnostic, Span

F_DEAD_END = "F215"
F_NEVER_HALTS = "F216"


def check_dead_ends(ir: FlowIR, facts: FlowFacts | None = None) -> Iterator[Diagnostic]:
    facts = facts or flow_facts(ir)
    for scope in facts.scopes:
        if ENTRY not in scope:
            continue
        shape = facts.shape(scope)
        halts = HALT in shape.position
        looping = set().union(*shape.trapped)
        if not halts and looping:
            continue  # check_loops names the loop that keeps the flow from ending
        if not halts:
            where = "the flow" if scope is ir else f"graph '{scope.meta.name}'"
            last = _last_step(scope)
            yield error(
                F_NEVER_HALTS,
                f"{where} never reaches `end`",
                scope.node_of(HALT if HALT in scope else ENTRY).span,
                f"add an arrow to `end` from the step that finishes, e.g. `{last} -> end`",
            )
            continue
        if shape.finishes_everywhere:
            continue
        reached, finishing = shape.reached, shape.finishing
        for node in scope.steps():
            name = node.name
            if name not in reached or name in finishing or name in looping:
                continue
            if node.kind is NodeKind.UNKNOWN:
                continue
            has_arrows = scope.out_degree(name) > 0
            yield error(
                F_DEAD_END,
                f"step '{name}' is a dead end: no path from it reaches `end`",
                _where(scope, name) or node.span,
                f"add `{name} -> end`, or an arrow to a step that finishes"
                if not has_arrows
                else f"every arrow from '{name}' leads to steps that never finish",
            )


def _last_step(scope: FlowIR) -> str:
    names = [node.name for node in scope.steps()]
    return names[-1] if names else "last_step"


def _where(scope: FlowIR, name: str) -> Span | None:
    for _, _, data in scope.in_edges(name, data=True):
        return data["edge"].span
    return None
