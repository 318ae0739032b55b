"""Reads before writes: a state key read on some path from the entry where no earlier step wrote
it, and the state schema does not declare it.

A "must be written" forward analysis per scope (``facts.Dataflow``). Each scope yields its
*free reads* (keys it reads before writing them itself); a graph step reads its body's free
reads, a map reads its item key and its branches' free reads (minus the item variable), and the
arrows leaving a step read their conditions' keys after it ran. What is still free at the top
level is reported. Keys declared in the ``state`` block count as provided: a field without a
default is the caller's to pass (``--state``).
"""

from __future__ import annotations

from collections.abc import Iterator

from flowc.compiler.checks.common import error
from flowc.compiler.checks.facts import FlowFacts, flow_facts
from flowc.compiler.ir import FlowIR
from flowc.errors import Diagnostic, Span

F_READ_BEFORE_WRITE = "F301"


def check_dataflow(ir: FlowIR, facts: FlowFacts | None = None) -> Iterator[Diagnostic]:
    facts = facts or flow_facts(ir)
    analysis = facts.dataflow
    provided = {spec.name for spec in ir.meta.schema}
    written = facts.written
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
