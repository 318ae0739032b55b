"""Static checks over the IR: one module per check, each a pure ``check_x(ir) ->
Iterable[Diagnostic]`` that never raises for user mistakes; ``run_checks`` runs them in order,
sharing the facts they all need (``checks.facts``) through an optional second argument.

``CHECKS`` need only the IR; ``PYTHON_CHECKS`` import the modules the flow names and run only
with ``import_python=True`` (``flowc check --no-import`` skips them). With importing, the modules
are imported once, before every check, so the dataflow checks also see what a callable declares
(``@action(reads, writes)``) where the .flow file declares nothing. docs/compiler.md lists every
code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from flowc.compiler.checks.conditions import check_conditions
from flowc.compiler.checks.dataflow import check_dataflow
from flowc.compiler.checks.dead_ends import check_dead_ends
from flowc.compiler.checks.defaults import check_defaults
from flowc.compiler.checks.entry import check_entry
from flowc.compiler.checks.facts import flow_facts
from flowc.compiler.checks.imported import PythonObjects
from flowc.compiler.checks.loops import check_loops
from flowc.compiler.checks.lowering import check_lowering
from flowc.compiler.checks.maps import check_maps
from flowc.compiler.checks.names import check_names
from flowc.compiler.checks.python import check_python
from flowc.compiler.checks.shadowed import check_shadowed
from flowc.compiler.checks.unreachable import check_unreachable
from flowc.compiler.checks.unused import check_unused
from flowc.compiler.ir import FlowIR
from flowc.errors import Diagnostic

Check = Callable[..., Iterable[Diagnostic]]
"""``check(ir, facts=None)``: ``facts`` (``flow_facts(ir)``) is shared by a run of checks."""

CHECKS: tuple[Check, ...] = (
    check_lowering,
    check_names,
    check_entry,
    check_unreachable,
    check_loops,
    check_dead_ends,
    check_shadowed,
    check_dataflow,
    check_maps,
    check_conditions,
    check_defaults,
    check_unused,
)
PYTHON_CHECKS: tuple[Check, ...] = (check_python,)


def run_checks(ir: FlowIR, *, import_python: bool = True) -> list[Diagnostic]:
    """Every diagnostic of every check, in check order (callers sort for display)."""
    checks = CHECKS + PYTHON_CHECKS if import_python else CHECKS
    facts = flow_facts(ir, PythonObjects() if import_python else None)
    found: list[Diagnostic] = []
    for check in checks:
        found.extend(check(ir, facts))
    return found
