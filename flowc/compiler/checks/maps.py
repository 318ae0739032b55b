"""Map blocks: what the branches write must reach the parent state through a reduce.

- F302 (warning): branches write a key that no reduce reads or writes back: it is dropped.
- F303: two different branches (a map over actions, or a product) write the same key and no
  reduce combines it: one result would silently overwrite the other.
- F304: a reduce reads a field that no branch writes (and that is not the item variable or a
  state key of the flow).
- F305: two reduces write the same key.

A custom Python reducer receives the whole branch states, so it consumes every key. A branch
whose writes are declared neither in the .flow file nor (when importing) by its callable is
taken at its word.
"""

from __future__ import annotations

from collections.abc import Iterator

from flowc.compiler.checks.common import error, warning
from flowc.compiler.checks.facts import Dataflow, FlowFacts, flow_facts
from flowc.compiler.ir import ActionNode, FlowIR, MapKind, MapNode
from flowc.errors import Diagnostic, Related, Span

F_DROPPED_WRITE = "F302"
F_CONFLICTING_WRITES = "F303"
F_REDUCE_READS_NOTHING = "F304"
F_REDUCE_TARGET_TWICE = "F305"


def check_maps(ir: FlowIR, facts: FlowFacts | None = None) -> Iterator[Diagnostic]:
    facts = facts or flow_facts(ir)
    flow_keys = facts.written | {spec.name for spec in ir.meta.schema}
    for map_node in facts.maps:
        yield from _check_map(map_node, facts.dataflow, flow_keys)


def _check_map(
    map_node: MapNode, analysis: Dataflow, flow_keys: frozenset[str]
) -> Iterator[Diagnostic]:
    writers: dict[str, list[tuple[str, Span]]] = {}
    all_declared = True
    for branch in map_node.branches:
        if branch.step is None:
            continue
        if isinstance(branch.step, ActionNode) and not analysis.action_writes(branch.step):
            all_declared = False
        for key in sorted(analysis.step_writes(branch.step)):
            writers.setdefault(key, []).append((branch.name, branch.span))
    custom = any(reduce.callable is not None for reduce in map_node.reduces)
    consumed = {key for reduce in map_node.reduces for key in reduce.reads}
    targets = set(map_node.writes)
    var = map_node.items.var.name if map_node.items else None
    for key, branches in writers.items():
        if custom or key in consumed or key in targets or key == var:
            continue
        several = map_node.map_kind is not MapKind.STATES and len(branches) > 1
        if several:
            (first, first_span), (second, second_span) = branches[:2]
            yield error(
                F_CONFLICTING_WRITES,
                f"branches '{first}' and '{second}' of map '{map_node.name}' both write "
                f"'{key}', and no reduce combines it",
                second_span,
                f"add `reduce {_collected(key)} = collect({key})` (or another reducer) to the map",
                related=(Related(f"'{first}' writes '{key}' too", first_span),),
            )
        else:
            yield warning(
                F_DROPPED_WRITE,
                f"map '{map_node.name}' drops '{key}': branch '{branches[0][0]}' writes it but "
                "no reduce reads it",
                branches[0][1],
                f"collect it, e.g. `reduce {_collected(key)} = collect({key})`, or stop writing it",
            )
    seen_targets: dict[str, Span] = {}
    for reduce in map_node.reduces:
        for arg in reduce.args or ():
            key = arg.reads
            produced = key in writers or key == var or key in flow_keys
            if key is not None and all_declared and not produced:
                yield error(
                    F_REDUCE_READS_NOTHING,
                    f"reduce of map '{map_node.name}' reads '{key}', which no branch writes",
                    arg.span,
                    "branches write: " + (", ".join(sorted(writers)) or "nothing declared"),
                )
        for target in reduce.targets:
            if target.name in seen_targets:
                yield error(
                    F_REDUCE_TARGET_TWICE,
                    f"map '{map_node.name}' reduces into '{target.name}' twice",
                    target.span,
                    "each key gets one reduce; combine them or write a second key",
                    related=(Related("first reduced here", seen_targets[target.name]),),
                )
            seen_targets.setdefault(target.name, target.span)


def _collected(key: str) -> str:
    """A name for the list of every branch's ``key``, for hints: ``answer`` -> ``answers``,
    ``summary`` -> ``summaries``, ``scores`` -> ``all_scores``."""
    if key.endswith("s"):
        return f"all_{key}"
    if key.endswith("y") and key[-2:-1] not in ("", *"aeiou"):
        return f"{key[:-1]}ies"
    if key.endswith(("x", "z", "ch", "sh")) and len(key) > 1:  # box -> boxes, but x -> xs
        return f"{key}es"
    return f"{key}s"
