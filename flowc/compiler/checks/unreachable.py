"""Unreachable steps: every step of a scope can be reached from its entry."""

from __future__ import annotations

from collections.abc import Iterator

from flowc.compiler.checks.common import error
from flowc.compiler.checks.facts import FlowFacts, flow_facts
from flowc.compiler.ir import ENTRY, FlowIR, NodeKind
from flowc.errors import Diagnostic, Span

F_UNREACHABLE = "F214"


def check_unreachable(ir: FlowIR, facts: FlowFacts | None = None) -> Iterator[Diagnostic]:
    facts = facts or flow_facts(ir)
    for scope in facts.scopes:
        if ENTRY not in scope:
            continue  # reported by check_entry; everything would be unreachable
        shape = facts.shape(scope)
        if shape.reaches_every_step:
            continue
        reached = shape.reached
        for node in scope.steps():
            if node.name in reached or node.kind is NodeKind.UNKNOWN:
                continue
            sources = sorted({u for u, _ in scope.in_edges(node.name)} - {node.name})
            hint = (
                f"only {', '.join(sources)} lead here, and they are unreachable too"
                if sources
                else f"add an arrow to it, e.g. `{scope.entry} -> {node.name}`"
            )
            yield error(
                F_UNREACHABLE,
                f"step '{node.name}' can never run: no path from `start` reaches it",
                _arrow_span(scope, node.name) or node.span,
                hint,
            )


def _arrow_span(scope: FlowIR, name: str) -> Span | None:
    """Where the step appears in this scope's arrows (its declaration may be elsewhere)."""
    for _, _, data in scope.out_edges(name, data=True):
        return data["edge"].span
    for _, _, data in scope.in_edges(name, data=True):
        return data["edge"].span
    return None
