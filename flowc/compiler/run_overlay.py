"""A tracked run, summarised per step of a flow, for drawing it over the flow's picture.

``overlay_run(ir, run)`` reads a ``RunRecord`` (``flowc.runtime.tracking.load_run``: an
application and, recursively, the child applications it spawned) and says, for each step of each
scope, whether it finished, failed, is still running or was never reached, how often it ran and
for how long; which arrows the run followed; and, for each map, how many branches finished,
failed or were cancelled. A map's branches and a subgraph's run are child applications whose
spawning parent points at the map's (or graph's) step; a branch is matched to the map branch
whose action it ran first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from flowc.compiler.ir import ENTRY, HALT, FlowIR, GraphNode, MapBranch, MapNode
from flowc.runtime.tracking import RunRecord, StepRecord

DONE = "done"
FAILED = "failed"
RUNNING = "running"
NOT_REACHED = "not reached"
CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class StepStats:
    """How one step (or one map branch) fared: ``status`` of its last run, number of ``runs``,
    how many of them ``failures``, and the total ``seconds`` of the finished ones."""

    status: str
    runs: int = 0
    failures: int = 0
    seconds: float | None = None


UNREACHED = StepStats(NOT_REACHED)


@dataclass(frozen=True, slots=True)
class BranchCounts:
    """A map's branches by outcome; ``cancelled`` branches never finished although their map
    did (stopped by a failure policy, ``first k``, or a crash)."""

    done: int = 0
    failed: int = 0
    cancelled: int = 0
    running: int = 0


def _frozen(values: Mapping) -> Mapping:  # type: ignore[type-arg]
    return MappingProxyType(dict(values))


@dataclass(frozen=True, slots=True)
class ScopeOverlay:
    """A run over one scope: the flow, or a subgraph (then the runs of all its invocations)."""

    app_ids: tuple[str, ...]
    status: str
    steps: Mapping[str, StepStats] = field(default_factory=lambda: _frozen({}))
    taken: frozenset[tuple[str, str]] = frozenset()
    maps: Mapping[str, BranchCounts] = field(default_factory=lambda: _frozen({}))
    branches: Mapping[tuple[str, str], StepStats] = field(default_factory=lambda: _frozen({}))
    bodies: Mapping[tuple[str, ...], ScopeOverlay] = field(default_factory=lambda: _frozen({}))
    """Overlays of graph bodies: ``(graph_step,)`` or ``(map_name, branch_name)``."""

    def step(self, name: str) -> StepStats:
        return self.steps.get(name, UNREACHED)


def overlay_run(ir: FlowIR, run: RunRecord) -> ScopeOverlay:
    """The overlay of ``run`` (loaded with its children) on the flow ``ir``."""
    return _scope_overlay(ir, [run])


def _scope_overlay(scope: FlowIR, runs: Sequence[RunRecord]) -> ScopeOverlay:
    ordered = [(run, sorted(run.steps, key=lambda s: s.sequence_id)) for run in runs]
    records = [step for _, steps in ordered for step in steps]
    steps = {name: _stats(r for r in records if r.action == name) for name in _names(records)}
    maps: dict[str, BranchCounts] = {}
    branches: dict[tuple[str, str], StepStats] = {}
    bodies: dict[tuple[str, ...], ScopeOverlay] = {}
    for node in scope.steps():
        if node.name not in steps:
            continue
        spawned = _spawned_at(ordered, node.name)
        if isinstance(node, MapNode):
            maps[node.name] = _count(spawned, steps[node.name].status)
            for branch, children in _by_branch(node, spawned).items():
                branches[(node.name, branch.name)] = _branch_stats(children, steps[node.name])
                if isinstance(branch.step, GraphNode) and children:
                    bodies[(node.name, branch.name)] = _scope_overlay(branch.step.body, children)
        elif isinstance(node, GraphNode) and spawned:
            bodies[(node.name,)] = _scope_overlay(node.body, spawned)
    return ScopeOverlay(
        app_ids=tuple(run.app_id for run in runs),
        status=_overall([run.status for run in runs]),
        steps=_frozen(steps),
        taken=frozenset(_taken(scope, ordered)),
        maps=_frozen(maps),
        branches=_frozen(branches),
        bodies=_frozen(bodies),
    )


def _names(records: Iterable[StepRecord]) -> list[str]:
    return list(dict.fromkeys(record.action for record in records))


def _status(record: StepRecord) -> str:
    return {"completed": DONE, "failed": FAILED}.get(record.status, RUNNING)


def _stats(records: Iterable[StepRecord]) -> StepStats:
    runs = list(records)
    durations = [d for d in map(_seconds, runs) if d is not None]
    return StepStats(
        status=_status(runs[-1]) if runs else NOT_REACHED,
        runs=len(runs),
        failures=sum(1 for r in runs if r.status == "failed"),
        seconds=sum(durations) if durations else None,
    )


def _seconds(record: StepRecord) -> float | None:
    if record.start_time is None or record.end_time is None:
        return None
    try:
        start = dt.datetime.fromisoformat(record.start_time)
        end = dt.datetime.fromisoformat(record.end_time)
    except ValueError:
        return None
    return max(0.0, (end - start).total_seconds())


def _taken(
    scope: FlowIR, ordered: Sequence[tuple[RunRecord, list[StepRecord]]]
) -> set[tuple[str, str]]:
    """Arrows the runs followed: from ``start`` to the first step, between consecutive steps,
    and to ``end`` when a run completed on a halting step."""
    taken: set[tuple[str, str]] = set()
    halts = set(scope.halts)
    for run, steps in ordered:
        previous = ENTRY
        for step in steps:
            taken.add((previous, step.action))
            previous = step.action
        if steps and run.status == "completed" and previous in halts:
            taken.add((previous, HALT))
    return taken


def _spawned_at(
    ordered: Sequence[tuple[RunRecord, list[StepRecord]]], action: str
) -> list[RunRecord]:
    """The child applications spawned by the steps that ran ``action``."""
    children: list[RunRecord] = []
    for run, steps in ordered:
        sequence_ids = {step.sequence_id for step in steps if step.action == action}
        for child in run.children:
            parent = child.spawning_parent or {}
            if parent.get("app_id") == run.app_id and parent.get("sequence_id") in sequence_ids:
                children.append(child)
    return children


def _child_status(child: RunRecord, map_status: str) -> str:
    status = child.status
    if status == "completed":
        return DONE
    if status == "failed":
        return FAILED
    return RUNNING if map_status == RUNNING else CANCELLED


def _count(children: Sequence[RunRecord], map_status: str) -> BranchCounts:
    outcomes = [_child_status(child, map_status) for child in children]
    return BranchCounts(
        done=outcomes.count(DONE),
        failed=outcomes.count(FAILED),
        cancelled=outcomes.count(CANCELLED),
        running=outcomes.count(RUNNING),
    )


def _by_branch(node: MapNode, children: Sequence[RunRecord]) -> dict[MapBranch, list[RunRecord]]:
    """Children grouped by the map branch they ran (every branch listed, in order)."""
    grouped: dict[MapBranch, list[RunRecord]] = {branch: [] for branch in node.branches}
    for child in children:
        branch = _branch_of(node.branches, child)
        if branch is not None:
            grouped[branch].append(child)
    return grouped


def _branch_of(branches: Sequence[MapBranch], child: RunRecord) -> MapBranch | None:
    if len(branches) == 1:
        return branches[0]
    ran = [step.action for step in sorted(child.steps, key=lambda s: s.sequence_id)]
    for branch in branches:
        if ran and ran[0] == branch.name:
            return branch
    for branch in branches:
        if isinstance(branch.step, GraphNode) and ran and ran[0] in branch.step.body:
            return branch
    return None


def _branch_stats(children: Sequence[RunRecord], map_step: StepStats) -> StepStats:
    """One branch of a map over all its items: failed if any item failed, else done if any
    finished (the rest were cancelled), else running or not reached, as its map."""
    if not children:
        return UNREACHED
    statuses = [child.status for child in children]
    durations = [d for child in children for d in map(_seconds, child.steps) if d is not None]
    if "failed" in statuses:
        status = FAILED
    elif "completed" in statuses:
        status = DONE
    else:
        status = RUNNING if map_step.status == RUNNING else NOT_REACHED
    return StepStats(
        status=status,
        runs=len(children),
        failures=statuses.count("failed"),
        seconds=sum(durations) if durations else None,
    )


def _overall(statuses: Sequence[str]) -> str:
    if "failed" in statuses:
        return FAILED
    if statuses and all(s == "completed" for s in statuses):
        return DONE
    return RUNNING if statuses else NOT_REACHED
