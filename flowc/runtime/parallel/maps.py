"""The parallel actions: ``TaskBasedParallelAction`` and the three maps built on it.

Signatures follow the reference page (``shared/reference/parallelism-api.txt``). What the page
leaves for later is set per map class with ``MapOptions`` (``options = MapOptions(...)`` as a
class attribute, or ``map_options(state, context)``), plus ``executor()`` and
``on_branch_complete(outcome)``.
"""

from __future__ import annotations

import abc
import functools
import inspect
from collections.abc import AsyncGenerator, Callable, Generator, Iterator
from typing import Any, ClassVar

from flowc.runtime.action import SingleStepAction
from flowc.runtime.executors import ResolvedExecutor, resolve_executor
from flowc.runtime.parallel import child
from flowc.runtime.parallel.errors import (
    AsyncTasksInSyncMapError,
    DuplicateTaskKeyError,
    MissingContextError,
)
from flowc.runtime.parallel.options import MapOptions
from flowc.runtime.parallel.outcomes import BranchFailure, describe_item
from flowc.runtime.parallel.scheduler import (
    AsyncSchedule,
    Plan,
    PullSchedule,
    PushSchedule,
    Sink,
)
from flowc.runtime.parallel.streaming import current_sink
from flowc.runtime.parallel.tasks import ParentRun, RunnableGraph, SubGraphTask

MIN_LOOKAHEAD = 64


class TaskBasedParallelAction(SingleStepAction):
    """Runs the ``SubGraphTask``s that ``tasks()`` yields in parallel and ``reduce``s their final
    states, in task order, into this action's result. Subclass it for full control; most maps
    are ``MapStates``, ``MapActions`` or ``MapActionsAndStates``."""

    options: ClassVar[MapOptions] = MapOptions()

    @property
    def inputs(self) -> list[str]:
        """``["__context"]``: subclasses add theirs as ``["x"] + super().inputs``."""
        return ["__context"]

    @abc.abstractmethod
    def tasks(self, state: Any, context: Any, inputs: dict[str, Any]) -> Generator[Any, None, None]:
        """Yield the ``SubGraphTask``s to run."""

    @abc.abstractmethod
    def reduce(self, state: Any, states: Generator[Any, None, None]) -> Any:
        """Fold the branches' final states (in task order) into this action's new state."""

    @property
    @abc.abstractmethod
    def reads(self) -> list[str]: ...

    @property
    @abc.abstractmethod
    def writes(self) -> list[str]: ...

    def is_async(self) -> bool:
        """Override to return True for an async map (async ``tasks``/``reduce``, async branches
        run with ``asyncio`` semantics)."""
        return False

    def map_options(self, state: Any, context: Any) -> MapOptions:
        """The options for one invocation; the class attribute ``options`` by default."""
        return self.options

    def executor(self) -> Any:
        """An executor (or zero-argument factory) for this action only; ``None`` inherits."""
        return None

    def on_branch_complete(self, outcome: Any) -> None:
        """Called as each branch finishes (completion order, from the thread that ran it), with a
        ``BranchResult`` or ``BranchFailure``. ``reduce`` still gets task order."""

    # -- running (not user-facing) --

    def run_and_update(self, state: Any, **run_kwargs: Any) -> Any:
        if self.is_async():
            return self._arun_and_update(state, run_kwargs)
        return self._run_and_update(state, run_kwargs)

    def _begin(self, state: Any, run_kwargs: dict[str, Any]) -> tuple[Any, Any, MapOptions]:
        context = run_kwargs.get("__context")
        if context is None:
            raise MissingContextError(
                f"parallel action '{self._display_name()}' needs the __context input",
                hints=("keep super().inputs in its inputs: ['x'] + super().inputs",),
            )
        internal = [key for key in state if key.startswith("__")]
        clean = state.wipe(delete=internal) if internal else state
        return context, clean, self.map_options(clean, context)

    def _display_name(self) -> str:
        try:
            return self.name or type(self).__name__
        except Exception:
            return type(self).__name__

    def _parent_run(self, context: Any, executor: Any) -> ParentRun:
        """``executor`` is what the children inherit: the thread pool this map runs on, so
        nested maps share it (``None`` for process executors: children there use their own)."""
        return ParentRun(
            app_id=context.app_id,
            partition_key=context.partition_key,
            sequence_id=context.sequence_id,
            action_name=context.action_name or self._display_name(),
            executor=executor,
        )

    def _sink(self) -> Sink | None:
        streaming = current_sink()
        overridden = type(self).on_branch_complete is not TaskBasedParallelAction.on_branch_complete
        if streaming is None:
            return self.on_branch_complete if overridden else None
        if not overridden:
            return streaming

        def both(outcome: Any) -> None:
            self.on_branch_complete(outcome)
            streaming(outcome)

        return both

    def _plan(
        self, clean: Any, options: MapOptions, resolved: ResolvedExecutor | None, run_task: Any
    ) -> Plan:
        width = resolved.width if resolved is not None else None
        concurrency = options.max_concurrency or width or 32
        lookahead = options.lookahead or max(MIN_LOOKAHEAD, 4 * concurrency)
        map_name = self._display_name()

        def error_for(failure: BranchFailure, task: SubGraphTask) -> BaseException:
            return failure.to_error(map_name, describe_item(task.state, clean))

        return Plan(
            run_task=run_task,
            describe=_describe,
            input_state=_input_state,
            error_for=error_for,
            options=options,
            concurrency=concurrency,
            lookahead=lookahead,
            sink=self._sink(),
        )

    def _run_and_update(self, state: Any, run_kwargs: dict[str, Any]) -> tuple[dict, Any]:
        context, clean, options = self._begin(state, run_kwargs)
        resolved = resolve_executor(self.executor(), options.executor, context.parallel_executor)
        release = None
        try:
            parent = self._parent_run(context, resolved.executor if resolved.threaded else None)
            release = _preload_children(context.state_initializer, parent)
            tasks = self.tasks(clean, context, run_kwargs)
            # the maps' own tasks() gives every task its key; a user's may not
            source = tasks if _keys_its_tasks(self) else _keyed(tasks)
            plan = self._plan(clean, options, resolved, child.BranchRunner(parent).run)
            if resolved.threaded:
                schedule: PullSchedule | PushSchedule = PullSchedule(source, plan, resolved)
            else:
                plan = _with_pickle_check(plan, parent)
                schedule = PushSchedule(source, plan, resolved)
            try:
                new_state = self.reduce(clean, iter(schedule))
                if inspect.isawaitable(new_state):
                    new_state.close()  # type: ignore[attr-defined]
                    raise AsyncTasksInSyncMapError(
                        f"'{self._display_name()}' has an async reduce but is_async() is False",
                        hints=("return True from is_async() to run it as an async map",),
                    )
                schedule.finish()
            finally:
                schedule.close()
        finally:
            if release is not None:
                release()
            resolved.close()
        return {}, new_state

    async def _arun_and_update(self, state: Any, run_kwargs: dict[str, Any]) -> tuple[dict, Any]:
        context, clean, options = self._begin(state, run_kwargs)
        parent = self._parent_run(context, context.parallel_executor)
        source = _akeyed(self.tasks(clean, context, run_kwargs))
        plan = self._plan(clean, options, None, None)
        schedule = AsyncSchedule(source, plan, functools.partial(child.arun_task, parent))
        try:
            if inspect.iscoroutinefunction(self.reduce):
                new_state = await self.reduce(clean, schedule.states())
            else:  # a sync reduce in an async map gets the states as a list, in task order
                states = [s async for s in schedule.states()]
                new_state = self.reduce(clean, iter(states))
            await schedule.finish()
        finally:
            await schedule.close()
        return {}, new_state


def _preload_children(loader: Any, parent: ParentRun) -> Callable[[], None] | None:
    """Let a loader that can (``SQLitePersister.preload_children``) read the saved rows of all
    this invocation's children at once instead of one query per branch; returns the release
    (None when nothing was preloaded)."""
    preload = getattr(loader, "preload_children", None)
    return None if preload is None else preload(parent.partition_key, parent.child_id_prefix)


def _describe(task: SubGraphTask) -> tuple[str, str]:
    return task.key or "", task.graph.entrypoint


def _input_state(task: SubGraphTask) -> Any:
    return task.state


def _with_pickle_check(plan: Plan, parent: ParentRun) -> Plan:
    from dataclasses import replace

    return replace(plan, outbound=functools.partial(child.outbound_task, parent))


def _keys_its_tasks(action: TaskBasedParallelAction) -> bool:
    return type(action).tasks is MapActionsAndStates.tasks


def _keyed(tasks: Any) -> Iterator[SubGraphTask]:
    """Give keyless, id-less tasks their position as key; refuse async generators here."""
    if hasattr(tasks, "__anext__"):
        raise AsyncTasksInSyncMapError(
            "tasks() returned an async generator but the map's is_async() is False",
            hints=("return True from is_async(), or make tasks() a plain generator",),
        )
    for index, task in enumerate(tasks):
        if task.key is None and task.application_id is None:
            task.key = str(index)
        yield task


async def _akeyed(tasks: Any) -> Any:
    index = 0
    if hasattr(tasks, "__anext__"):
        async for task in tasks:
            if task.key is None and task.application_id is None:
                task.key = str(index)
            index += 1
            yield task
        return
    for task in tasks:
        if task.key is None and task.application_id is None:
            task.key = str(index)
        index += 1
        yield task


def _cascade(behavior: Any, inherited: Any) -> Any:
    """``"cascade"``: the parent's object (``.copy()``'d if it has one); ``None``: nothing; any
    other object: that object."""
    if behavior is None:
        return None
    if isinstance(behavior, str) and behavior == "cascade":
        if inherited is not None and hasattr(inherited, "copy"):
            return inherited.copy()
        return inherited
    return behavior


def _cascading(
    tracker: Any, persister: Any, initializer: Any, *, shared: bool
) -> Callable[[], tuple[Any, Any, Any]]:
    """Each child's (tracker, persister, initializer) when all three cascade: the parent's
    objects, ``.copy()``'d for each child if they have it, one copy for a persister that is also
    the initializer. What to call is decided once per map invocation, not per child."""
    if (tracker, persister, initializer) == (None, None, None):
        return lambda: (None, None, None)
    copy_tracker = _copier(tracker)
    copy_initializer = _copier(initializer)
    copy_persister = _copier(persister)

    def per_child() -> tuple[Any, Any, Any]:
        loader = copy_initializer()
        return copy_tracker(), loader if shared else copy_persister(), loader

    if any(map(_copies_per_child, (tracker, persister, initializer))):
        return per_child
    adapters = per_child()  # the same objects for every child
    return lambda: adapters


def _copier(inherited: Any) -> Callable[[], Any]:
    """How to give each child its copy of ``inherited``: ``copy()`` per child, or one copy for
    all of them when the object says ``copy()`` returns the same object every time
    (``shares_copies``)."""
    if _copies_per_child(inherited):
        return inherited.copy
    same = inherited.copy() if hasattr(inherited, "copy") else inherited
    return lambda: same


def _copies_per_child(inherited: Any) -> bool:
    return (
        inherited is not None
        and hasattr(inherited, "copy")
        and not getattr(inherited, "shares_copies", False)
    )


def _with_optional_context(method: Callable[..., Any], context: Any) -> Callable[[], Any]:
    """How to call ``tracker(context)`` (the page), ``tracker(**kwargs)`` (Burr) or
    ``tracker()``: decided once per map invocation (``inspect.signature`` costs more than a
    branch)."""
    try:
        parameters = inspect.signature(method).parameters.values()
    except (TypeError, ValueError):
        return method
    kinds = {p.kind for p in parameters}
    if inspect.Parameter.VAR_KEYWORD in kinds:
        return functools.partial(method, context=context)
    positional = [
        p
        for p in parameters
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
    ]
    return functools.partial(method, context) if positional else method


class MapActionsAndStates(TaskBasedParallelAction):
    """Every action of ``actions()`` over every state of ``states()`` (action-major order)."""

    @abc.abstractmethod
    def actions(
        self, state: Any, context: Any, inputs: dict[str, Any]
    ) -> Generator[Any, None, None]:
        """Yield the actions (actions, ``@action`` functions or ``RunnableGraph``s) to run."""

    @abc.abstractmethod
    def states(
        self, state: Any, context: Any, inputs: dict[str, Any]
    ) -> Generator[Any, None, None]:
        """Yield the states to run each action on."""

    def tracker(self, context: Any = None) -> Any:
        """The children's tracker: ``"cascade"`` (the parent's), ``None``, or a tracker."""
        return "cascade"

    def state_persister(self, **kwargs: Any) -> Any:
        """The children's persister: ``"cascade"`` (the parent's), ``None``, or a persister."""
        return "cascade"

    def state_initializer(self, **kwargs: Any) -> Any:
        """The children's state loader: ``"cascade"`` (the parent's), ``None``, or a loader."""
        return "cascade"

    def _adapters(self, context: Any) -> Callable[[], tuple[Any, Any, Any]]:
        """A function giving each child its (tracker, persister, initializer). The behaviour
        methods are called per child, as the page says, unless a class does not override them."""
        cls = type(self)
        base = MapActionsAndStates
        overridden = (
            cls.tracker is not base.tracker
            or cls.state_persister is not base.state_persister
            or cls.state_initializer is not base.state_initializer
        )
        inherited = (context.tracker, context.state_persister, context.state_initializer)
        shared = context.state_persister is context.state_initializer
        if not overridden:  # all three say "cascade": no need to ask them per child
            return _cascading(*inherited, shared=shared)
        call_tracker = _with_optional_context(self.tracker, context)
        initializer_behavior, persister_behavior = self.state_initializer, self.state_persister

        def per_child() -> tuple[Any, Any, Any]:
            tracker = _cascade(call_tracker(), context.tracker)
            loader_behavior = initializer_behavior()
            saver_behavior = persister_behavior()
            loader = _cascade(loader_behavior, context.state_initializer)
            if loader_behavior == "cascade" and saver_behavior == "cascade" and shared:
                saver = loader  # one object for both: one copy, shared
            else:
                saver = _cascade(saver_behavior, context.state_persister)
            return tracker, saver, loader

        return per_child

    def tasks(self, state: Any, context: Any, inputs: dict[str, Any]) -> Any:
        """One task per (action, state), action-major. An async map may make ``actions`` and
        ``states`` async generators; ``tasks`` is then an async generator too."""
        make = self._task_maker(state, context, inputs)
        actions = self.actions(state, context, inputs)
        if self.is_async():
            return self._atasks(make, actions, state, context, inputs)
        graphs = [RunnableGraph.create(a) for a in _sync_iterable(actions, "actions")]
        return self._sync_tasks(make, graphs, state, context, inputs)

    def _sync_tasks(
        self, make: Any, graphs: list[RunnableGraph], state: Any, context: Any, inputs: Any
    ) -> Generator[SubGraphTask, None, None]:
        for i, graph in enumerate(graphs):
            substates = _sync_iterable(self.states(state, context, inputs), "states")
            for j, substate in enumerate(substates):
                yield make(i, graph, len(graphs), j, substate)

    async def _atasks(
        self, make: Any, actions: Any, state: Any, context: Any, inputs: Any
    ) -> AsyncGenerator[SubGraphTask, None]:
        graphs = [RunnableGraph.create(a) async for a in _as_async(actions)]
        for i, graph in enumerate(graphs):
            j = 0
            async for substate in _as_async(self.states(state, context, inputs)):
                yield make(i, graph, len(graphs), j, substate)
                j += 1

    def _task_maker(self, state: Any, context: Any, inputs: dict[str, Any]) -> Any:
        """A function making the ``SubGraphTask`` for action ``i`` (of ``n``) on state ``j``:
        its key (position, or the user's ``task_key``), its adapters, the visible inputs."""
        key_of = _key_function(self.map_options(state, context).task_key)
        adapters = self._adapters(context)
        branch_inputs = {k: v for k, v in inputs.items() if not k.startswith("__")}
        seen: set[str] = set()
        name = self._display_name()

        def make(i: int, graph: RunnableGraph, n: int, j: int, substate: Any) -> SubGraphTask:
            if key_of is None:
                key = f"{i}-{j}"
            else:
                user_key = str(key_of(substate))
                key = user_key if n == 1 else f"{graph.entrypoint}/{user_key}"
                if key in seen:
                    raise DuplicateTaskKeyError(
                        f"two branches of '{name}' have the task key {key!r}",
                        hints=("task keys name child applications, so they must be unique",),
                    )
                seen.add(key)
            return SubGraphTask.of(graph, branch_inputs, substate, key, adapters())

        return make


def _sync_iterable(values: Any, method: str) -> Any:
    if hasattr(values, "__anext__"):
        raise AsyncTasksInSyncMapError(
            f"{method}() returned an async generator but the map's is_async() is False",
            hints=(f"return True from is_async(), or make {method}() a plain generator",),
        )
    return values


async def _as_async(values: Any) -> AsyncGenerator[Any, None]:
    if hasattr(values, "__anext__"):
        async for value in values:
            yield value
    else:
        for value in values:
            yield value


def _key_function(task_key: Any) -> Callable[[Any], Any] | None:
    if task_key is None:
        return None
    if isinstance(task_key, str):
        field_name = task_key
        return lambda state: state[field_name]
    return task_key


class MapActions(MapActionsAndStates, abc.ABC):
    """Different actions over the same state."""

    @abc.abstractmethod
    def actions(
        self, state: Any, context: Any, inputs: dict[str, Any]
    ) -> Generator[Any, None, None]:
        """Yield the actions to run on ``state(...)``."""

    def state(self, state: Any, inputs: dict[str, Any]) -> Any:
        """The state every action runs on; the action's input state by default."""
        return state

    def states(
        self, state: Any, context: Any, inputs: dict[str, Any]
    ) -> Generator[Any, None, None]:
        yield self.state(state, inputs)


class MapStates(MapActionsAndStates, abc.ABC):
    """One action (or subgraph) over many states."""

    @abc.abstractmethod
    def action(self, state: Any, inputs: dict[str, Any]) -> Any:
        """The action, ``@action`` function or ``RunnableGraph`` to run on every state."""

    @abc.abstractmethod
    def states(
        self, state: Any, context: Any, inputs: dict[str, Any]
    ) -> Generator[Any, None, None]:
        """Yield the states to run the action on."""

    def actions(
        self, state: Any, context: Any, inputs: dict[str, Any]
    ) -> Generator[Any, None, None]:
        yield self.action(state, inputs)
