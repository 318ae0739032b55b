"""Entry: each scope has exactly one unconditional ``start -> x``. (Arrows into ``start`` or out
of ``end`` are syntax errors, F108.) A file with no transitions at all is a library of graphs (it
is imported, not run) and needs no entry."""

from __future__ import annotations

from collections.abc import Iterator

from flowc.compiler.checks.common import error
from flowc.compiler.checks.facts import FlowFacts, flow_facts
from flowc.compiler.ir import ENTRY, FlowIR
from flowc.errors import Diagnostic, Related

F_NO_ENTRY = "F210"
F_SEVERAL_ENTRIES = "F211"
F_CONDITIONAL_ENTRY = "F212"


def check_entry(ir: FlowIR, facts: FlowFacts | None = None) -> Iterator[Diagnostic]:
    facts = facts or flow_facts(ir)
    for scope in facts.scopes:
        if scope is ir and scope.number_of_nodes() == 0:
            continue
        yield from _entry(scope, is_top=scope is ir)


def _entry(scope: FlowIR, *, is_top: bool) -> Iterator[Diagnostic]:
    arrows = scope.outgoing(ENTRY) if ENTRY in scope else []
    if not arrows:
        where = "the flow" if is_top else f"graph '{scope.meta.name}'"
        first = next((node.name for node in scope.steps()), "first_step")
        yield error(
            F_NO_ENTRY,
            f"{where} has no entry",
            scope.meta.span,
            f"add `start -> {first}`",
        )
        return
    first = arrows[0][2]
    for _, target, arrow in arrows[1:]:
        yield error(
            F_SEVERAL_ENTRIES,
            f"a second entry: `start -> {target}`",
            arrow.span,
            "a flow or graph starts at one step; route to others from there",
            related=(Related("the first entry is here", first.span),),
        )
    for _, target, arrow in arrows:
        if arrow.condition is not None:
            yield error(
                F_CONDITIONAL_ENTRY,
                "the entry arrow cannot have a condition",
                arrow.condition.span,
                f"write `start -> {target}` and test the condition after the first step",
            )
