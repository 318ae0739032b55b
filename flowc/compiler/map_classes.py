"""The parallel-action classes the build makes for ``.flow`` maps and graph steps.

Each ``map`` block becomes an instance of a subclass of ``MapStates`` / ``MapActions`` /
``MapActionsAndStates`` whose attributes carry the map's ``MapOptions``, its reads/writes, its
branches and its reducers, what a hand-written subclass of the reference page would hold as class
attributes. The build makes one such class per map *shape* (kind, items, ``tracker none``,
``persister none``: what decides how the map behaves) and sets each map's data on its instance;
``emit.py`` writes one class per map out as source (named after the map), which runs the same. A
graph used as a step gets a class of its own (named after the graph).

Two things are added for ``flowc run``: every failed branch's exception gets a note naming the
branch — its position, its item and, for a graph, the graph and its ``.flow`` line — so the
source-map path reads map → item → graph → action (``flowc.runtime.source_maps``, which the
emitted classes call too); and an optional ``MapProgress`` listener hears about branches as they
start and finish (the progress bars). The branches' labels are made for a note, when a branch
fails, not with the map (most runs never need one; made per map, they cost a sixth of it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, NamedTuple, Protocol

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
    "map_class",
]


class MapProgress(Protocol):
    """Hears about a map's branches (thread-safe: branches finish on worker threads, and a map
    inside a map's branches reports under its own name from many threads)."""

    def map_started(self, map_name: str, total: int | None, limit: int | None) -> None: ...

    def branch_started(self, map_name: str) -> None: ...

    def branch_finished(self, map_name: str, ok: bool) -> None: ...

    def map_finished(self, map_name: str) -> None: ...


# The three records below are made per map: ``NamedTuple``s, immutable as a frozen dataclass
# is, but made as a tuple is (a frozen dataclass's ``__init__`` sets each field through
# ``object.__setattr__``, which cost a tenth of making a map).


class ReduceStep(NamedTuple):
    """One ``reduce`` line: a built-in ``fold(states) -> value`` for its single target, or a
    custom ``fold(state, states) -> {target: value}``."""

    targets: tuple[str, ...]
    fold: Callable[..., Any]
    custom: bool


class Reduction(NamedTuple):
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


class Items(NamedTuple):
    """Where a map's items come from: ``values(state, inputs)``, bound to state key ``var``."""

    var: str
    values: Callable[[Any, dict[str, Any]], Iterable[Any]]
    input_name: str | None = None


_BASES: dict[str, type] = {
    "states": MapStates,
    "actions": MapActions,
    "product": MapActionsAndStates,
}

MapShape = tuple[str, bool, bool, bool]
"""What a built map's class depends on: ``(kind, has items, tracker off, persister off)``."""


class _BuiltMap:
    """What every map the build makes does, over the map's own data, which ``make_map`` sets on
    the instance: its branches, what makes their labels, its items, its reduction and its
    progress listener. The class says how the map behaves, the instance what it maps over; so a
    build makes one class per shape (``map_class``), not one per map (``type()`` of a map class
    cost more than all the rest of making a map)."""

    _branches: list[Any]
    _labels: Callable[[], Sequence[BranchLabel]]
    _items: Items | None
    _reduction: Reduction
    _map_reads: list[str]
    _map_writes: list[str]
    _input_names: list[str]
    _optional_inputs: list[str] | None
    _flowc_progress: MapProgress | None

    @property
    def reads(self) -> list[str]:
        return self._map_reads

    @property
    def writes(self) -> list[str]:
        return self._map_writes

    @property
    def inputs(self) -> tuple[list[str], list[str]]:
        """The items' input and ``__context``; then every input the branches take, worked out
        on the first read (a map's plan reads it when the map first runs; the build does not).
        Two threads reading it first at once may both work it out: both keep the same names."""
        optional = self._optional_inputs
        if optional is None:
            names = self._input_names
            found = branch_inputs(self._branches)
            optional = self._optional_inputs = [n for n in found if n not in names]
        return [*self._input_names, "__context"], optional

    def tasks(self, state: Any, context: Any, inputs: dict[str, Any]) -> Iterator[Any]:
        progress = self._flowc_progress
        tasks = MapActionsAndStates.tasks(self, state, context, inputs)  # type: ignore[arg-type]
        if progress is None:
            yield from tasks
            return
        name = self.name  # type: ignore[attr-defined]
        limit = self.options.max_concurrency  # type: ignore[attr-defined]
        progress.map_started(name, self._flowc_total(state, inputs), limit)
        for task in tasks:
            progress.branch_started(name)
            yield task

    def reduce(self, state: Any, states: Iterable[Any]) -> Any:
        result = self._reduction.apply(state, states)
        if self._flowc_progress is not None:
            self._flowc_progress.map_finished(self.name)  # type: ignore[attr-defined]
        return result

    def on_branch_complete(self, outcome: Any) -> None:
        _branch_complete(self, self._labels, self._items, outcome)

    def _flowc_total(self, state: Any, inputs: dict[str, Any]) -> int | None:
        """How many branches the map will run (``None`` when its items do not say)."""
        items = self._items
        if items is None:
            return len(self._branches)
        try:
            values = items.values(state, inputs)
        except Exception:  # the map itself will report a missing key or input
            return None
        return len(values) * len(self._branches) if hasattr(values, "__len__") else None


class _OneBranch:
    """A map over states: its one branch."""

    _branches: list[Any]

    def action(self, state: Any, inputs: dict[str, Any]) -> Any:
        return self._branches[0]


class _Branches:
    """A map over actions: its branches, in ``.flow`` order."""

    _branches: list[Any]

    def actions(self, state: Any, context: Any, inputs: dict[str, Any]) -> Iterator[Any]:
        return iter(self._branches)


class _ItemStates:
    """A map with items: one state per item, the item bound to the items' variable."""

    _items: Items

    def states(self, state: Any, context: Any, inputs: dict[str, Any]) -> Iterator[Any]:
        var, values = self._items.var, self._items.values
        return (state.update(**{var: value}) for value in values(state, inputs))


class _NoTracker:
    """``tracker none``: the branches are not tracked."""

    def tracker(self, context: Any = None) -> Any:
        return None


class _NoPersister:
    """``persister none``: the branches are neither saved nor loaded."""

    def state_persister(self, **kwargs: Any) -> Any:
        return None

    def state_initializer(self, **kwargs: Any) -> Any:
        return None


def map_class(shape: MapShape) -> type:
    """The class of the maps of one shape: ``FlowMapStates`` etc., the kind's runtime class with
    the behaviour the shape asks for. It overrides ``tracker`` / ``state_persister`` only when
    they are off, as the runtime tells a map whose children cascade by its class."""
    kind, has_items, tracker_off, persister_off = shape
    base = _BASES[kind]
    mixins: list[type] = [_BuiltMap, _OneBranch if kind == "states" else _Branches]
    if has_items:
        mixins.append(_ItemStates)
    if tracker_off:
        mixins.append(_NoTracker)
    if persister_off:
        mixins.append(_NoPersister)
    return type(f"Flow{base.__name__}", (*mixins, base), {})


def make_map(
    *,
    name: str,
    kind: str,
    branches: Sequence[Any],
    labels: Callable[[], Sequence[BranchLabel]],
    items: Items | None,
    reads: Sequence[str],
    writes: Sequence[str],
    options: MapOptions,
    reduction: Reduction,
    tracker_off: bool,
    persister_off: bool,
    origin: Span,
    progress: MapProgress | None,
    classes: dict[MapShape, type],
) -> Any:
    """A map: an instance of its shape's class carrying the map's data. ``labels`` makes the
    branches' labels (called when a branch fails); ``classes`` holds one build's classes by
    shape, a shape's class is made on its first map."""
    shape = (kind, items is not None, tracker_off, persister_off)
    cls = classes.get(shape)
    if cls is None:
        cls = classes[shape] = map_class(shape)
    branch_list = list(branches)
    input_names = [items.input_name] if items is not None and items.input_name else []
    made = cls()
    vars(made).update(
        _name=name,
        origin=origin,
        options=options,
        _map_reads=list(reads),
        _map_writes=list(writes),
        _branches=branch_list,
        _labels=labels,
        _items=items,
        _reduction=reduction,
        _input_names=input_names,
        _optional_inputs=None,
        _flowc_progress=progress,
    )
    return made


def class_name(map_name: str) -> str:
    """``try_all`` → ``TryAll``: the class ``emit.py`` writes for a map, and the build makes for
    a graph used as a step."""
    return "".join(part[:1].upper() + part[1:] for part in map_name.split("_") if part) or "Map"


def make_graph_step(
    name: str, runnable: Any, writes: Sequence[str], origin: Span, progress: MapProgress | None
) -> Any:
    """A graph used as a step: a one-branch ``MapActions`` running it as a child application,
    whose reduce writes back every key the graph's actions write (those its run reached)."""
    keys = list(writes)

    def reduce(self: Any, state: Any, states: Iterable[Any]) -> Any:
        (final,) = list(states)
        return state.update(**{key: final[key] for key in keys if key in final})

    labels = (BranchLabel(name, "graph", origin, runnable.entrypoint),)
    namespace: dict[str, Any] = {
        "_name": name,
        "origin": origin,
        "reads": [],
        "writes": keys,
        "inputs": property(lambda self: (["__context"], branch_inputs([runnable]))),
        "actions": lambda self, state, context, inputs: iter([runnable]),
        "reduce": reduce,
        "on_branch_complete": lambda self, outcome: _branch_complete(
            self, lambda: labels, None, outcome
        ),
        "_flowc_progress": None,
        "_flowc_total": staticmethod(lambda state, inputs: 1),
    }
    del progress  # a graph step is one branch: no progress bar
    return type(class_name(name), (MapActions,), namespace)()


def _branch_complete(
    self: Any, labels: Callable[[], Sequence[BranchLabel]], items: Items | None, outcome: Any
) -> None:
    progress: MapProgress | None = self._flowc_progress
    if progress is not None:
        progress.branch_finished(self.name, outcome.ok)
    if not outcome.ok:
        note_failed_branch(self.name, labels(), items.var if items is not None else None, outcome)
