"""Style warnings: an import nothing uses (F250), a declaration nothing uses (F251), a state
field nothing reads or writes (F252). ``--strict`` makes them errors.

A file with no transitions is a library: its declarations are what other files import, so
F251 does not apply to its top level.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import chain
from operator import attrgetter

from flowc.compiler.ast import TypeRef
from flowc.compiler.checks.common import warning
from flowc.compiler.checks.facts import FlowFacts, flow_facts
from flowc.compiler.ir import FlowImport, FlowIR, ItemsFromState
from flowc.errors import Diagnostic

F_UNUSED_IMPORT = "F250"
F_UNUSED_DECLARATION = "F251"
F_UNUSED_FIELD = "F252"

_NAME = attrgetter("name")
_BASE = attrgetter("base")


def check_unused(ir: FlowIR, facts: FlowFacts | None = None) -> Iterator[Diagnostic]:
    facts = facts or flow_facts(ir)
    used_names = _used_names(facts)
    imported_spans = {item.span for item in ir.meta.imports if isinstance(item, FlowImport)}
    yield from _imports(ir, facts, used_names)
    for scope in facts.scopes:
        if scope is ir and ir.number_of_nodes() == 0:
            continue
        if scope.meta.span.file != ir.meta.span.file:
            continue  # another file's graph: that file's own check reports it
        declarations = scope.meta.declarations
        if used_names.issuperset(map(_NAME, declarations)):
            continue  # the common case, told without a loop over the declarations
        for declared in declarations:
            if declared.name in used_names or declared.span.file != ir.meta.span.file:
                continue
            if declared.span in imported_spans:
                continue  # a graph imported from a .flow file: F250 reports the import
            yield warning(
                F_UNUSED_DECLARATION,
                f"{declared.kind.value} '{declared.name}' is declared but never used",
                declared.span,
                f"use it in a transition (`… -> {declared.name}`) or a map, or remove it",
            )
    yield from _fields(ir, facts)


def _used_names(facts: FlowFacts) -> set[str]:
    used: set[str] = set()
    for scope in facts.scopes:
        used.update(scope._node)
    for map_node in facts.maps:
        used.update(branch.ref for branch in map_node.branches)
    used.update(base for base in set(map(_BASE, facts.actions)) if base)
    return used


def _imports(ir: FlowIR, facts: FlowFacts, used_names: set[str]) -> Iterator[Diagnostic]:
    """This file's imports nothing names; the walk stops once every import is named."""
    file = ir.meta.span.file
    unused = {item.local for item in ir.meta.imports if item.span.file == file} - used_names
    for action in facts.actions:
        if not unused:
            break
        unused.discard(action.callable.written)
    for map_node in facts.maps:
        if not unused:
            break
        for reduce in map_node.reduces:
            if reduce.callable is not None:
                unused.discard(reduce.callable.written)
        for option in (map_node.options.executor, map_node.options.task_key):
            spec = getattr(option, "callable", None)
            if spec is not None:
                unused.discard(spec.written)
    for spec in ir.meta.schema:
        unused.difference_update(_type_names(spec.type))
    if not unused:
        return
    loaded = {declared.name for declared in ir.meta.declarations}
    for item in ir.meta.imports:
        if item.local not in unused or item.span.file != file:
            continue
        if isinstance(item, FlowImport) and item.local not in loaded:
            continue  # the import failed: check_lowering reports why
        source = f'"{item.path}"' if isinstance(item, FlowImport) else item.module
        yield warning(
            F_UNUSED_IMPORT,
            f"'{item.local}' is imported from {source} but never used",
            item.span,
            "remove it from the import",
        )


def _type_names(ref: TypeRef) -> Iterator[str]:
    yield ref.name.value
    for arg in ref.args:
        yield from _type_names(arg)


def _fields(ir: FlowIR, facts: FlowFacts) -> Iterator[Diagnostic]:
    """The schema's fields nothing touches; the walk stops once every field is touched."""
    untouched = {spec.name for spec in ir.meta.schema} - facts.written
    reads = list(map(facts.dataflow.reads_of, facts.actions))
    if not all(reads):
        return  # an action reading what its @action declares may use any field
    if untouched:
        untouched.difference_update(map(_NAME, chain.from_iterable(reads)))
    for map_node in facts.maps:
        if not untouched:
            break
        if map_node.items is not None:
            untouched.discard(map_node.items.var.name)
            if isinstance(map_node.items.source, ItemsFromState):
                untouched.discard(map_node.items.source.key.name)
        for reduce in map_node.reduces:
            untouched.difference_update(reduce.reads)
        task_key = map_node.options.task_key
        if task_key is not None and task_key.field_path:
            untouched.discard(task_key.field_path[0])
    for scope in facts.scopes:
        for _, _, arrow in facts.shape(scope).conditional:
            if not untouched:
                break
            untouched.difference_update(arrow.condition.expression.reads)  # type: ignore[union-attr]
    for spec in ir.meta.schema:
        if spec.name in untouched:
            yield warning(
                F_UNUSED_FIELD,
                f"state field '{spec.name}' is never read or written",
                spec.span,
                "remove it, or use it in an action's `reads`/`writes` or a condition",
            )
