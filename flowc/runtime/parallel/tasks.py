"""The units a parallel action runs: ``RunnableGraph`` (what) and ``SubGraphTask`` (what, on
which state, as which child application).

A single action becomes a one-node ``RunnableGraph`` once per map invocation, never per task
(Burr builds a graph for every task). A ``RunnableGraph`` remembers when it is a single action,
so a branch can run it without building a child ``Application`` (see ``child.py``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import InitVar, dataclass, field
from typing import Any

from flowc.runtime.parallel.errors import InvalidBranchError


@dataclass(frozen=True, slots=True, init=False)
class RunnableGraph:
    """A graph plus where to start and where to stop: what a branch runs.

    ``halt_after`` takes one action name or a list of them (the reference page uses both).
    """

    graph: Any
    entrypoint: str
    halt_after: tuple[str, ...]
    single_action: Any = field(compare=False, repr=False)
    wants_context: frozenset[str] = field(compare=False, repr=False)
    single_async: bool = field(compare=False, repr=False)  # one action, and it is async
    straight_plans: tuple[Any, ...] | None = field(compare=False, repr=False)

    def __init__(self, graph: Any, entrypoint: str, halt_after: str | Sequence[str]) -> None:
        halts = (halt_after,) if isinstance(halt_after, str) else tuple(halt_after)
        if not halts:
            raise InvalidBranchError(
                "RunnableGraph needs at least one halt_after action",
                hints=("name the action(s) after which the subgraph's result is ready",),
            )
        actions = list(getattr(graph, "actions", ()))
        names = {a.name for a in actions}
        for name in (entrypoint, *halts):
            if names and name not in names:
                raise InvalidBranchError(
                    f"RunnableGraph: '{name}' is not an action of the graph "
                    f"(actions: {', '.join(sorted(names))})",
                )
        single = actions[0] if len(actions) == 1 and halts == (entrypoint,) else None
        object.__setattr__(self, "graph", graph)
        object.__setattr__(self, "entrypoint", entrypoint)
        object.__setattr__(self, "halt_after", halts)
        object.__setattr__(self, "single_action", single)
        object.__setattr__(
            self, "wants_context", frozenset(a.name for a in actions if _asks_for_context(a))
        )
        object.__setattr__(self, "single_async", single is not None and _is_async(single))
        object.__setattr__(self, "straight_plans", _straight_plans(graph, entrypoint, halts))

    def __reduce__(self) -> tuple[Any, ...]:  # sent to other processes as what defines it
        return (RunnableGraph, (self.graph, self.entrypoint, self.halt_after))

    @property
    def name(self) -> str:
        """What error messages and streaming results call this branch: its entry action."""
        return self.entrypoint

    @staticmethod
    def create(from_: Any) -> RunnableGraph:
        """An action, an ``@action`` function, a one-action ``Graph`` or a ``RunnableGraph``."""
        from flowc.runtime.graph import Graph, GraphBuilder

        if isinstance(from_, RunnableGraph):
            return from_
        if isinstance(from_, Graph):
            actions = list(from_.actions)
            if len(actions) != 1:
                raise InvalidBranchError(
                    f"a Graph with {len(actions)} actions needs an entrypoint and halt_after",
                    hints=("wrap it: RunnableGraph(graph, entrypoint=..., halt_after=[...])",),
                )
            return RunnableGraph(from_, actions[0].name, [actions[0].name])
        name = getattr(from_, "name", None)
        try:
            if isinstance(name, str) and name:
                graph = GraphBuilder().with_actions(**{name: from_}).build()
            else:
                graph = GraphBuilder().with_actions(from_).build()
        except Exception as error:
            raise InvalidBranchError(
                f"cannot run {from_!r} as a branch: {error}",
                hints=("return an action, an @action function, or a RunnableGraph",),
            ) from error
        (action,) = graph.actions
        return RunnableGraph(graph, action.name, [action.name])


def _straight_plans(graph: Any, entrypoint: str, halts: tuple[str, ...]) -> tuple[Any, ...] | None:
    """The step plans of a subgraph that always runs the same actions: every transition from the
    entrypoint on is unconditional up to a ``halt_after`` action, and none asks for
    ``__context``. A branch then runs the plans one after the other (``child.BranchRunner``),
    with no transition to evaluate. ``None`` for any other graph (or one that is not a flowc
    ``Graph``)."""
    from flowc.runtime.graph import Graph

    if not isinstance(graph, Graph):
        return None
    plans = []
    node = graph.node(entrypoint)
    while len(plans) < len(graph.actions):
        if node.plan.wants_context:
            return None
        plans.append(node.plan)
        if node.name in halts or not node.edges:  # halts, or no way on: the walk stops too
            return tuple(plans)
        if node.always is None:
            return None  # a conditional transition: the walk evaluates it
        node = node.always
    return None  # an unconditional cycle


def _is_async(action: Any) -> bool:
    is_async = getattr(action, "is_async", None)
    return bool(is_async()) if callable(is_async) else False


def _asks_for_context(action: Any) -> bool:
    """Whether an action declares the ``__context`` input (so a branch must build one)."""
    declared = getattr(action, "inputs", ())
    if isinstance(declared, tuple) and len(declared) == 2 and not isinstance(declared[0], str):
        declared = [*declared[0], *declared[1]]
    return "__context" in (declared or ())


@dataclass(slots=True)
class SubGraphTask:
    """One branch: a ``RunnableGraph`` run on ``state`` with ``inputs`` as the child application
    ``application_id``. ``tracker``/``state_persister``/``state_initializer`` are the child's own
    (``None``: none). ``action=`` (the reference page's spelling) is accepted for ``graph=``.

    ``application_id`` may be left ``None``: it is then derived from the parent (see
    ``ParentRun.child_app_id``) and ``key`` — the task's stable key, its position by default.
    """

    graph: Any = None
    inputs: dict[str, Any] = field(default_factory=dict)
    state: Any = None
    application_id: str | None = None
    tracker: Any = None
    state_persister: Any = None
    state_initializer: Any = None
    action: InitVar[Any] = None
    key: str | None = None

    def __post_init__(self, action: Any) -> None:
        chosen = action if action is not None else self.graph
        if chosen is None:
            raise InvalidBranchError("SubGraphTask needs graph= (or action=)")
        self.graph = RunnableGraph.create(chosen)

    @property
    def action_name(self) -> str:
        return self.graph.entrypoint

    @classmethod
    def of(
        cls,
        graph: RunnableGraph,
        inputs: dict[str, Any],
        state: Any,
        key: str,
        adapters: tuple[Any, Any, Any],
    ) -> SubGraphTask:
        """A task for a graph already made runnable (what the maps yield, one per branch):
        skips the checks of ``__init__``, which cost more than a trivial branch."""
        task = _new_task(cls)
        task.graph, task.inputs, task.state, task.application_id = graph, inputs, state, None
        task.tracker, task.state_persister, task.state_initializer = adapters
        task.key = key
        return task


_new_task = object.__new__


@dataclass(frozen=True, slots=True)
class ParentRun:
    """What a branch needs to know about the map invocation that spawned it. Picklable when
    ``executor`` is (a process executor's children get ``None``: their own default pool)."""

    app_id: str
    partition_key: str | None
    sequence_id: int
    action_name: str
    executor: Any = None
    child_id_prefix: str = field(init=False, repr=False, compare=False)
    # a child's app id is this plus its task key (``child_app_id``)
    child_id_stem: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        seed = f"{self.app_id}:{self.action_name}:{self.sequence_id}"
        prefix = hashlib.sha256(seed.encode()).hexdigest()[:32]
        object.__setattr__(self, "child_id_prefix", prefix)
        object.__setattr__(self, "child_id_stem", f"{prefix}-")

    def child_app_id(self, key: str) -> str:
        """Stable across a crash and resume, distinct across invocations (docs/parallelism.md):
        a hash of the parent app id, this map's name and the parent step's sequence id, then
        the task key. One hash per map invocation, and the children's ids share a prefix, so
        their rows sit together in the persister's index instead of at random places in it."""
        return self.child_id_stem + key

    def app_id_for(self, task: SubGraphTask, index: int) -> str:
        if task.application_id is not None:
            return task.application_id
        return self.child_app_id(task.key if task.key is not None else str(index))
