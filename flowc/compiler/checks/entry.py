"""Entry and end: each scope has exactly one unconditional ``start -> x``; nothing leads into
``start`` and nothing leaves ``end``. A file with no transitions at all is a library of graphs
(it is imported, not run) and needs no entry."""

from __future__ import annotations

from collections.abc import Iterator

from flowc.compiler.checks.common import error, scopes
from flowc.compiler.ir import ENTRY, HALT, FlowIR
from flowc.errors import Diagnostic, Related

F_NO_ENTRY = "F210"
F_SEVERAL_ENTRIES = "F211"
F_CONDITIONAL_ENTRY = "F212"
F_ARROW_AT_MARKER = "F213"


def check_entry(ir: FlowIR) -> Iterator[Diagnostic]:
    for scope in scopes(ir):
        if scope is ir and scope.number_of_nodes() == 0:
            continue
        yield from _entry(scope, is_top=scope is ir)
        for source, target, arrow in scope.transitions():
            if target == ENTRY:
                yield error(
                    F_ARROW_AT_MARKER,
                    "an arrow cannot lead to `start`",
                    arrow.span,
                    f"to go back to the first step, name it: `{source} -> {scope.entry or '…'}`",
                )
            if source == HALT:
                yield error(
                    F_ARROW_AT_MARKER,
                    "no arrow can leave `end`: the flow stops there",
                    arrow.span,
                    "remove this arrow, or put a step before `end`",
                )


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
