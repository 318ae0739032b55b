"""What lowering found while reading other .flow files (missing, broken, cyclic imports, names
they do not declare, self-referencing declarations): reported as they were recorded."""

from __future__ import annotations

from collections.abc import Iterator

from flowc.compiler.checks.facts import FlowFacts, flow_facts
from flowc.compiler.ir import FlowIR
from flowc.errors import Diagnostic


def check_lowering(ir: FlowIR, facts: FlowFacts | None = None) -> Iterator[Diagnostic]:
    facts = facts or flow_facts(ir)
    yield from ir.meta.problems
