"""What lowering found while reading other .flow files (missing, broken, cyclic imports, names
they do not declare, self-referencing declarations): reported as they were recorded."""

from __future__ import annotations

from collections.abc import Iterator

from flowc.compiler.ir import FlowIR
from flowc.errors import Diagnostic


def check_lowering(ir: FlowIR) -> Iterator[Diagnostic]:
    yield from ir.meta.problems
