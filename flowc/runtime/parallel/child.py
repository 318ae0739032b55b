"""Running one branch as a child application — as cheaply as what observes it allows.

A branch is a child application (own app id, linked to its parent). Building one through
``ApplicationBuilder`` costs far more than a trivial action, so there are three paths:

- **cheap**: no tracker, persister or initializer for the child. A single action runs directly
  (``run_action``, the step loop's own one-step function); a multi-action subgraph walks its
  transitions with ``Graph.next_action``. The child's ``ApplicationContext`` is built only if an
  action asks for ``__context``.
- **saved**: a branch whose only observers are a persister and/or a loader runs like the cheap
  path and calls the persister's ``save`` itself after each step, writing the rows the full
  path would write (a saved child that is not finished is resumed the full way).
- **full**: a tracker observes the child, an async persister saves it, or it resumes in the
  middle of its subgraph, so it is a real ``Application`` built with ``ApplicationBuilder``
  (hooks, persistence, tracking all apply).

On the saved and full paths, with a state initializer, a child whose persisted position is
already one of its ``halt_after`` actions is finished: its persisted state is returned without
running it again (resume).
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
from typing import Any

from flowc.runtime.application import ApplicationContext, ParentPointer
from flowc.runtime.parallel.tasks import ParentRun, SubGraphTask
from flowc.runtime.step import arun_action, run_action, run_plan


def _visible_inputs(inputs: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in inputs.items() if not key.startswith("__")}


def child_context(parent: ParentRun, task: SubGraphTask, app_id: str, action_name: str) -> Any:
    """The ``ApplicationContext`` a branch's action sees (built only when it asks for one): what
    the child application's own context would hold."""
    return ApplicationContext(
        app_id=app_id,
        partition_key=parent.partition_key,
        sequence_id=0,
        action_name=action_name,
        tracker=task.tracker,
        state_persister=task.state_persister,
        state_initializer=task.state_initializer,
        parallel_executor=parent.executor,
        parent=ParentPointer(parent.app_id, parent.sequence_id, parent.partition_key),
    )


def _app_id(parent: ParentRun, task: SubGraphTask) -> str:
    return task.application_id or parent.child_app_id(task.key or "")


class BranchRunner:
    """Runs the branches of one sync map invocation (what its schedule calls with each task),
    each on the cheapest path its tracker, persister and loader allow. Whether a persister and
    loader are synchronous is asked when the pair changes, not for every branch: a map's children
    usually share one copy of them (see ``maps._copier``). Pickled, it forgets that answer."""

    __slots__ = ("_synchronous", "parent")

    def __init__(self, parent: ParentRun) -> None:
        self.parent = parent
        # the (persister, loader) last found synchronous; one tuple, so that threads read a pair
        self._synchronous: tuple[Any, Any] = (None, None)

    def __reduce__(self) -> tuple[Any, ...]:
        return (BranchRunner, (self.parent,))

    def run(self, task: SubGraphTask) -> Any:
        """Run one branch to its ``halt_after`` action and return its final state. The cheap and
        saved paths of a straight branch (``RunnableGraph.straight_plans``) run here, without a
        further call: they are what most maps run, and each call would add some 2% to a trivial
        branch."""
        parent, graph = self.parent, task.graph
        if graph.single_async:
            return run_async_task_blocking(parent, task)
        if task.tracker is not None:
            return _run_full(parent, task)
        saver, loader = task.state_persister, task.state_initializer
        plans = graph.straight_plans
        if saver is None and loader is None:  # cheap
            if plans is not None:  # the same actions every time, none asking for __context
                state, inputs = task.state, task.inputs
                for plan in plans:
                    state = run_plan(plan, state, inputs, None)[1]
                return state
            return _run_unobserved(parent, task)
        known_saver, known_loader = self._synchronous
        if saver is not known_saver or loader is not known_loader:
            if not _synchronous(saver, loader):
                return _run_full(parent, task)
            self._synchronous = (saver, loader)
        # saved: the rows the full path would write, without building an Application; a child
        # with a saved row that is not finished is resumed the full way. The id is
        # parent.child_app_id(key), without the call.
        app_id = task.application_id or parent.child_id_stem + (task.key or "")
        if loader is not None:
            loaded = loader.load(parent.partition_key, app_id)
            if loaded:
                finished = _finished_state(task, loaded)
                return finished if finished is not None else _run_full(parent, task)
        if plans is None:
            return _walk(parent, task, app_id, saver)
        # _walk for a subgraph that always runs the same actions: the same rows, without a
        # transition to evaluate or a context to build
        partition_key = parent.partition_key
        state, inputs = task.state, task.inputs
        sequence_id = 0
        for plan in plans:
            try:
                after = run_plan(plan, state, inputs, None)[1]
            except Exception:
                if saver is not None:
                    saver.save(partition_key, app_id, sequence_id, plan.name, state, "failed")
                raise
            state = after
            if saver is not None:
                saver.save(partition_key, app_id, sequence_id, plan.name, state, "completed")
            sequence_id += 1  # noqa: SIM113 - enumerate() costs ~600 instructions a branch
        return state


def _run_unobserved(parent: ParentRun, task: SubGraphTask) -> Any:
    """A branch nothing observes whose actions vary or ask for ``__context``: its subgraph is
    walked, or its one action run with the context it asks for."""
    graph = task.graph
    action = graph.single_action
    if action is None:
        return _walk(parent, task, _app_id(parent, task) if graph.wants_context else "", None)
    context = None
    if graph.wants_context:
        context = child_context(parent, task, _app_id(parent, task), action.name)
    return run_action(action, task.state, task.inputs, context)[1]


def _synchronous(saver: Any, loader: Any) -> bool:
    return not (
        (saver is not None and _is_async(saver, "save"))
        or (loader is not None and loader is not saver and _is_async(loader, "load"))
    )


def _is_async(persister: Any, method: str) -> bool:
    """Burr's persisters say so with ``is_async()`` (cheaper than inspecting the method, which a
    map would do for every branch); anything else is inspected."""
    is_async = getattr(persister, "is_async", None)
    if is_async is not None:
        return bool(is_async())
    return inspect.iscoroutinefunction(getattr(persister, method, None))


def _walk(parent: ParentRun, task: SubGraphTask, app_id: str, saver: Any) -> Any:
    """Run a branch without an ``Application``: follow its subgraph's transitions from the
    entrypoint. With a ``saver``, save each step's row as the full path's persister hook would
    (numbered from 0: ``completed`` with the new state, or ``failed`` with the state before the
    step, the action's exception re-raised)."""
    graph, partition_key = task.graph, parent.partition_key
    halts, asking, inner = graph.halt_after, graph.wants_context, graph.graph
    name = graph.entrypoint
    action = graph.single_action or inner.get_action(name)
    state, inputs = task.state, task.inputs
    sequence_id = 0
    while True:
        context = None
        if name in asking:
            context = _at_step(child_context(parent, task, app_id, name), sequence_id)
        try:
            _, after = run_action(action, state, inputs, context)
        except Exception:
            if saver is not None:
                saver.save(partition_key, app_id, sequence_id, name, state, "failed")
            raise
        state = after
        if saver is not None:
            saver.save(partition_key, app_id, sequence_id, name, state, "completed")
        if name in halts:
            return state
        action = inner.next_action(name, state)
        if action is None:
            return state
        name = action.name
        sequence_id += 1


def _at_step(context: Any, sequence_id: int) -> Any:
    if sequence_id == 0:
        return context
    return dataclasses.replace(context, sequence_id=sequence_id)


async def arun_task(parent: ParentRun, task: SubGraphTask) -> Any:
    """The async twin of ``BranchRunner``: async actions are awaited, sync ones run inline."""
    if (
        task.tracker is not None
        or task.state_persister is not None
        or task.state_initializer is not None
    ):
        return await _arun_full(parent, task)
    graph = task.graph
    halts, asking, inner = graph.halt_after, graph.wants_context, graph.graph
    app_id = _app_id(parent, task) if asking else ""
    action = graph.single_action or inner.get_action(graph.entrypoint)
    state, inputs = task.state, task.inputs
    sequence_id = 0
    while True:
        context = None
        if action.name in asking:
            context = _at_step(child_context(parent, task, app_id, action.name), sequence_id)
        _, state = await arun_action(action, state, inputs, context)
        if graph.single_action is not None or action.name in halts:
            return state
        action = inner.next_action(action.name, state)
        if action is None:
            return state
        sequence_id += 1


def _finished_state(task: SubGraphTask, loaded: Any) -> Any:
    """The persisted final state of a child that already reached ``halt_after`` (completed), typed
    like the task's state; ``None`` when the saved row is not a finished child."""
    if loaded.get("status", "completed") != "completed":
        return None
    if loaded.get("position") not in task.graph.halt_after:
        return None
    state = loaded["state"]
    schema = task.state.schema
    if schema is not None and getattr(state, "schema", None) is None:
        state = state.with_schema(schema)
    return state


def _finished_child_state(parent: ParentRun, task: SubGraphTask, app_id: str) -> Any:
    """A resumed child that already reached ``halt_after``: its persisted final state."""
    loader = task.state_initializer
    if loader is None:
        return None
    loaded = loader.load(parent.partition_key, app_id)
    return _finished_state(task, loaded) if loaded else None


async def _afinished_child_state(parent: ParentRun, task: SubGraphTask, app_id: str) -> Any:
    loader = task.state_initializer
    if loader is None:
        return None
    loaded = loader.load(parent.partition_key, app_id)
    if inspect.isawaitable(loaded):
        loaded = await loaded
    return _finished_state(task, loaded) if loaded else None


def _builder(parent: ParentRun, task: SubGraphTask, app_id: str) -> Any:
    from flowc.runtime.application import ApplicationBuilder

    graph = task.graph
    builder = (
        ApplicationBuilder()
        .with_graph(graph.graph)
        .with_spawning_parent(
            app_id=parent.app_id,
            sequence_id=parent.sequence_id,
            partition_key=parent.partition_key,
        )
        .with_identifiers(app_id=app_id, partition_key=parent.partition_key)
    )
    if parent.executor is not None:
        builder = builder.with_parallel_executor(parent.executor)
    if task.state.schema is not None:
        builder = builder.with_state_schema(task.state.schema)
    if task.tracker is not None:
        builder = builder.with_tracker(task.tracker)
    if task.state_persister is not None:
        builder = builder.with_state_persister(task.state_persister)
    if task.state_initializer is not None:
        return builder.initialize_from(
            task.state_initializer,
            resume_at_next_action=True,
            default_state=task.state,
            default_entrypoint=graph.entrypoint,
        )
    return builder.with_entrypoint(graph.entrypoint).with_state(task.state)


def _run_full(parent: ParentRun, task: SubGraphTask) -> Any:
    app_id = _app_id(parent, task)
    finished = _finished_child_state(parent, task, app_id)
    if finished is not None:
        return finished
    app = _builder(parent, task, app_id).build()
    _, _, state = app.run(
        halt_after=list(task.graph.halt_after), inputs=_visible_inputs(task.inputs)
    )
    return state


async def _arun_full(parent: ParentRun, task: SubGraphTask) -> Any:
    app_id = _app_id(parent, task)
    finished = await _afinished_child_state(parent, task, app_id)
    if finished is not None:
        return finished
    app = _builder(parent, task, app_id).build()
    _, _, state = await app.arun(
        halt_after=list(task.graph.halt_after), inputs=_visible_inputs(task.inputs)
    )
    return state


def run_async_task_blocking(parent: ParentRun, task: SubGraphTask) -> Any:
    """An async branch inside a sync map: run it to completion on a private event loop."""
    return asyncio.run(arun_task(parent, task))


def outbound_task(parent: ParentRun, task: SubGraphTask) -> SubGraphTask:
    """The task as sent to another process: without the parent's ``__context`` (and other
    ``__`` inputs, which the child never sees). Raises ``BranchNotPicklableError`` naming the
    part of it that cannot be pickled."""
    if any(key.startswith("__") for key in task.inputs):
        task = dataclasses.replace(task, inputs=_visible_inputs(task.inputs))
    dumps = _dumps()
    try:
        dumps((parent, task))
        return task
    except Exception as error:
        culprit, cause = _find_unpicklable(dumps, parent, task), error
    from flowc.runtime.parallel.errors import BranchNotPicklableError

    raise BranchNotPicklableError(
        f"branch {task.key!r} (action '{task.action_name}') must be sent to another process, "
        f"but {culprit} cannot be pickled: {cause}",
        hints=(
            "define actions at module level so they pickle by reference",
            "keep state values and inputs picklable, or use a thread executor",
        ),
    ) from cause


def _dumps() -> Any:
    try:
        import cloudpickle

        return cloudpickle.dumps
    except ImportError:  # pragma: no cover - cloudpickle comes with dask
        import pickle

        return pickle.dumps


def _find_unpicklable(dumps: Any, parent: ParentRun, task: SubGraphTask) -> str:
    def fails(value: Any) -> bool:
        try:
            dumps(value)
        except Exception:
            return True
        return False

    graph = task.graph
    if fails(graph):
        action = graph.single_action
        what = f"action '{action.name}'" if action is not None else "the subgraph"
        return f"{what} ({type(action or graph.graph).__name__})"
    state = task.state
    for key in list(state.keys()) if state is not None else []:
        if fails(state[key]):
            return f"state field '{key}' ({type(state[key]).__name__})"
    for key, value in task.inputs.items():
        if not key.startswith("__") and fails(value):
            return f"input '{key}' ({type(value).__name__})"
    for name in ("tracker", "state_persister", "state_initializer"):
        value = getattr(task, name)
        if value is not None and fails(value):
            return f"the child's {name} ({type(value).__name__})"
    if fails(parent):
        return "the parent's executor"
    return "part of the task"
