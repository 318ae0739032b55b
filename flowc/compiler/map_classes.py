"""The parallel-action classes the build makes for ``.flow`` maps and graph steps.

Each ``map`` block becomes an instance of a subclass of ``MapStates`` / ``MapActions`` /
``MapActionsAndStates`` made for it (named after the map), whose class attributes carry the
map's ``MapOptions``, its reads/writes and its reducers, exactly what a hand-written subclass of
the reference page would hold. ``emit.py`` writes the same classes out as source.

Two things are added for ``flowc run``: every failed branch's exception gets a note naming the
branch — its position, its item and, for a graph, the graph and its ``.flow`` line — so the
source-map path reads map → item → graph → action (``flowc.runtime.source_maps``, which the
emitted classes call too); and an optional ``MapProgress`` listener hears about branches as they
start and finish (the progress bars).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from flowc.errors import Span
from flowc.runtime.flow_support import branch_inputs
from flowc.runtime.parallelism import MapActions, MapActionsAndStates, MapOptions, MapStates
from flowc.runtime.source_maps import BranchLabel, note_failed_branch

__all__ = [
    "BranchLabel",
    "Items",
    "MapProgress",
    "ReduceStep",
    "Reduction",
    "class_name",
    "make_graph_step",
    "make_map",
]


class MapProgress(Protocol):
    """Hears about a map's branches (thread-safe: branches finish on worker threads, and a map
    inside a map's branches reports under its own name from many threads)."""

    def map_started(self, map_name: str, total: int | None, limit: int | None) -> None: ...

    def branch_started(self, map_name: str) -> None: ...

    def branch_finished(self, map_name: str, ok: bool) -> None: ...

    def map_finished(self, map_name: str) -> None: ...


@dataclass(frozen=True, slots=True)
class ReduceStep:
    """One ``reduce`` line: a built-in ``fold(states) -> value`` for its single target, or a
    custom ``fold(state, states) -> {target: value}``."""

    targets: tuple[str, ...]
    fold: Callable[..., Any]
    custom: bool


@dataclass(frozen=True, slots=True)
class Reduction:
    """All ``reduce`` lines of a map, applied in order to the branches' final states."""

    steps: tuple[ReduceStep, ...]

    def apply(self, state: Any, states: Iterable[Any]) -> Any:
        branch_states = list(states)
        updates: dict[str, Any] = {}
        for step in self.steps:
            if step.custom:
                updates.update(step.fold(state, branch_states))
            else:
                updates[step.targets[0]] = step.fold(branch_states)
        return state.update(**updates)


@dataclass(frozen=True, slots=True)
class Items:
    """Where a map's items come from: ``values(state, inputs)``, bound to state key ``var``."""

    var: str
    values: Callable[[Any, dict[str, Any]], Iterable[Any]]
    input_name: str | None = None


_BASES: dict[str, type] = {
    "states": MapStates,
    "actions": MapActions,
    "product": MapActionsAndStates,
}


def class_name(map_name: str) -> str:
    """``try_all`` → ``TryAll``: the class made for a map."""
    return "".join(part[:1].upper() + part[1:] for part in map_name.split("_") if part) or "Map"


def make_map(
    *,
    name: str,
    kind: str,
    branches: Sequence[Any],
    labels: Sequence[BranchLabel],
    items: Items | None,
    reads: Sequence[str],
    writes: Sequence[str],
    options: MapOptions,
    reduction: Reduction,
    tracker_off: bool,
    persister_off: bool,
    origin: Span,
    progress: MapProgress | None,
) -> Any:
    """An instance of a new subclass of the map kind's runtime class."""
    base = _BASES[kind]
    branch_list = list(branches)
    input_names = [items.input_name] if items is not None and items.input_name else []
    optional = [n for n in branch_inputs(branch_list) if n not in input_names]
    namespace: dict[str, Any] = {
        "_name": name,
        "origin": origin,
        "options": options,
        "reads": list(reads),
        "writes": list(writes),
        "inputs": property(lambda self: ([*input_names, "__context"], optional)),
        "reduce": lambda self, state, states: _reduce(self, reduction, state, states),
        "on_branch_complete": lambda self, outcome: _branch_complete(self, labels, items, outcome),
        "tasks": _tasks,
        "_flowc_progress": progress,
        "_flowc_total": staticmethod(_total(items, len(branch_list))),
    }
    if kind == "states":
        namespace["action"] = lambda self, state, inputs: branch_list[0]
    else:
        namespace["actions"] = lambda self, state, context, inputs: iter(branch_list)
    if items is not None:
        var, values = items.var, items.values
        namespace["states"] = lambda self, state, context, inputs: (
            state.update(**{var: value}) for value in values(state, inputs)
        )
    if tracker_off:
        namespace["tracker"] = lambda self, context=None: None
    if persister_off:
        namespace["state_persister"] = lambda self, **kwargs: None
        namespace["state_initializer"] = lambda self, **kwargs: None
    return type(class_name(name), (base,), namespace)()


def make_graph_step(
    name: str, runnable: Any, writes: Sequence[str], origin: Span, progress: MapProgress | None
) -> Any:
    """A graph used as a step: a one-branch ``MapActions`` running it as a child application,
    whose reduce writes back every key the graph's actions write (those its run reached)."""
    keys = list(writes)

    def reduce(self: Any, state: Any, states: Iterable[Any]) -> Any:
        (final,) = list(states)
        return state.update(**{key: final[key] for key in keys if key in final})

    label = BranchLabel(name, "graph", origin, runnable.entrypoint)
    namespace: dict[str, Any] = {
        "_name": name,
        "origin": origin,
        "reads": [],
        "writes": keys,
        "inputs": property(lambda self: (["__context"], branch_inputs([runnable]))),
        "actions": lambda self, state, context, inputs: iter([runnable]),
        "reduce": reduce,
        "on_branch_complete": lambda self, outcome: _branch_complete(self, [label], None, outcome),
        "_flowc_progress": None,
        "_flowc_total": staticmethod(lambda state, inputs: 1),
    }
    del progress  # a graph step is one branch: no progress bar
    return type(class_name(name), (MapActions,), namespace)()


def _total(items: Items | None, branches: int) -> Callable[[Any, dict[str, Any]], int | None]:
    def count(state: Any, inputs: dict[str, Any]) -> int | None:
        if items is None:
            return branches
        try:
            values = items.values(state, inputs)
        except Exception:  # the map itself will report a missing key or input
            return None
        return len(values) * branches if hasattr(values, "__len__") else None

    return count


def _tasks(self: Any, state: Any, context: Any, inputs: dict[str, Any]) -> Iterator[Any]:
    progress: MapProgress | None = self._flowc_progress
    tasks = MapActionsAndStates.tasks(self, state, context, inputs)
    if progress is None:
        yield from tasks
        return
    name = self.name
    progress.map_started(name, self._flowc_total(state, inputs), self.options.max_concurrency)
    for task in tasks:
        progress.branch_started(name)
        yield task


def _reduce(self: Any, reduction: Reduction, state: Any, states: Iterable[Any]) -> Any:
    result = reduction.apply(state, states)
    if self._flowc_progress is not None:
        self._flowc_progress.map_finished(self.name)
    return result


def _branch_complete(
    self: Any, labels: Sequence[BranchLabel], items: Items | None, outcome: Any
) -> None:
    progress: MapProgress | None = self._flowc_progress
    if progress is not None:
        progress.branch_finished(self.name, outcome.ok)
    note_failed_branch(self.name, labels, items.var if items is not None else None, outcome)
