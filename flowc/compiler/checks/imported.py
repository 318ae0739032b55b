"""The Python objects a flow names, imported once per run of the checks (only with
``import_python``), and the state keys an action's callable declares for itself.

An action whose .flow declaration omits ``reads`` or ``writes`` runs with what its callable
declares (``@action(reads=…, writes=…)``, an ``Action``'s ``reads``/``writes``): that is what
``build.make_action`` gives the runtime. So when the checks may import, the dataflow checks use
that declaration too (``ActionKeys``); without importing, such an action declares nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flowc.compiler.ir import ActionNode, CallableSpec, FlowIR, Key, PythonImport
from flowc.compiler.python_refs import F_MODULE_IMPORT, import_object
from flowc.errors import Diagnostic, FlowBuildError, Span

FAILED = object()
"""What ``PythonObjects`` returns for a name that did not import (the failure is recorded)."""


@dataclass(frozen=True, slots=True)
class ActionKeys:
    """The keys an action reads and writes as it will run: its .flow declaration, or, where that
    is empty, its callable's own (spanned at the callable's name; ``from_python`` says which)."""

    reads: tuple[Key, ...]
    writes: tuple[Key, ...]
    reads_from_python: bool = False
    writes_from_python: bool = False


class PythonObjects:
    """Imports each ``module:name`` once and remembers failures as diagnostics (reported by the
    Python check, once per broken module, at the first name imported from it)."""

    def __init__(self) -> None:
        self.cache: dict[tuple[str, str], Any] = {}
        self.broken_modules: set[str] = set()
        self.failures: list[Diagnostic] = []

    def import_flow(self, scopes: Iterable[FlowIR], actions: Iterable[ActionNode]) -> None:
        """Import what the scopes' ``from … import`` lines name, then every action's callable."""
        for scope in scopes:
            for spec in scope.meta.imports:
                if isinstance(spec, PythonImport):
                    self.get(spec.module, spec.name, spec.span)
        for action in actions:
            self.spec(action.callable)

    def spec(self, spec: CallableSpec) -> Any:
        if spec.module is None:
            return FAILED  # check_names reports it
        return self.get(spec.module, spec.name, spec.span)

    def get(self, module: str, name: str, span: Span) -> Any:
        key = (module, name)
        if module in self.broken_modules:
            return FAILED  # reported once, at the first name imported from it
        if key not in self.cache:
            try:
                self.cache[key] = import_object(module, name, flow_file=span.file, span=span)
            except FlowBuildError as failure:
                self.cache[key] = FAILED
                self.failures.extend(failure.diagnostics)
                if failure.code == F_MODULE_IMPORT:
                    self.broken_modules.add(module)
        return self.cache[key]

    def action_keys(self, action: ActionNode) -> ActionKeys:
        """What ``action`` reads and writes at run time, as far as importing can tell."""
        reads, writes = action.reads, action.writes
        if reads and writes:
            return ActionKeys(reads, writes)
        target = self.spec(action.callable)
        own_reads = declared(target, "reads") if target is not FAILED else None
        own_writes = declared(target, "writes") if target is not FAILED else None
        where = action.callable.span
        python_reads = not reads and bool(own_reads)
        python_writes = not writes and bool(own_writes)
        return ActionKeys(
            tuple(Key(k, where) for k in own_reads or ()) if python_reads else reads,
            tuple(Key(k, where) for k in own_writes or ()) if python_writes else writes,
            python_reads,
            python_writes,
        )


def declared(target: Any, what: str) -> tuple[str, ...] | None:
    """``target.reads``/``.writes`` when it is a collection of key names (``@action``, an
    ``Action`` instance, a class with a plain list), else ``None``."""
    value = getattr(target, what, None)
    if isinstance(value, list | tuple | set | frozenset) and all(isinstance(v, str) for v in value):
        return tuple(value)
    return None
