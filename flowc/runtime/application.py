"""``Application``: the step loop over a ``Graph``, and the context actions can ask for.

A step picks the next action (first matching transition from the previous one), runs it
(``flowc.runtime.step``), and moves the sequence id on. Hooks — trackers, persisters, user
hooks — see each step before and after; with none attached the loop does nothing else, which is
what keeps a step in the low microseconds. Build applications with ``ApplicationBuilder``.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Collection, Generator, Mapping
from dataclasses import dataclass
from typing import Any

from flowc.runtime.action import Action, plan_for
from flowc.runtime.graph import Graph
from flowc.runtime.hooks import HookSet
from flowc.runtime.state import State
from flowc.runtime.step import arun_action, run_action

__all__ = [
    "Application",
    "ApplicationContext",
    "ParentPointer",
    "arun_action",
    "run_action",
]

StepResult = tuple[Action, dict, State]
NO_HOOKS = HookSet()


@dataclass(frozen=True, slots=True)
class ParentPointer:
    """Which application (and which of its steps) spawned this one."""

    app_id: str
    sequence_id: int | None
    partition_key: str | None = None


@dataclass(frozen=True, slots=True)
class ApplicationContext:
    """What an action sees of the application running it (pass ``__context`` to receive it)."""

    app_id: str
    partition_key: str | None
    sequence_id: int | None
    action_name: str | None
    tracker: Any = None
    state_persister: Any = None
    state_initializer: Any = None
    parallel_executor: Any = None
    parent: ParentPointer | None = None

    @property
    def application_id(self) -> str:
        return self.app_id

    @property
    def parallel_executor_factory(self) -> Any:
        """Burr's name: a zero-argument callable returning the executor (or ``None``)."""
        executor = self.parallel_executor
        if executor is None or not hasattr(executor, "submit"):
            return executor
        return lambda: executor


class Application:
    """A running state machine. Not thread-safe: one caller steps it at a time."""

    def __init__(
        self,
        *,
        graph: Graph,
        state: State,
        next_action: Action | None,
        app_id: str,
        partition_key: str | None = None,
        sequence_id: int = 0,
        prior_action: str | None = None,
        hooks: HookSet = NO_HOOKS,
        tracker: Any = None,
        state_persister: Any = None,
        state_initializer: Any = None,
        parallel_executor: Any = None,
        parent: ParentPointer | None = None,
    ) -> None:
        self._graph = graph
        self._state = state
        self._next = next_action
        self._prior = prior_action
        self._pending = next_action is None and prior_action is not None
        self._app_id = app_id
        self._partition_key = partition_key
        self._sequence_id = sequence_id
        self._hooks = hooks
        self._observed = hooks.observes_steps
        self._tracker = tracker
        self._persister = state_persister
        self._initializer = state_initializer
        self._executor = parallel_executor
        self._parent = parent
        for hook in hooks.post_create:
            hook.post_application_create(
                app_id=app_id,
                partition_key=partition_key,
                state=state,
                application_graph=graph,
                parent_pointer=parent,
                spawning_parent_pointer=parent,
            )

    # -- what it is --

    @property
    def state(self) -> State:
        return self._state

    @property
    def sequence_id(self) -> int:
        """The sequence id the next step will have."""
        return self._sequence_id

    @property
    def app_id(self) -> str:
        return self._app_id

    uid = app_id

    @property
    def partition_key(self) -> str | None:
        return self._partition_key

    @property
    def graph(self) -> Graph:
        return self._graph

    @property
    def parent_pointer(self) -> ParentPointer | None:
        return self._parent

    spawning_parent_pointer = parent_pointer

    @property
    def parallel_executor(self) -> Any:
        return self._executor

    @property
    def context(self) -> ApplicationContext:
        upcoming = self.get_next_action()
        return self._context(upcoming.name if upcoming else None)

    def _context(self, action_name: str | None) -> ApplicationContext:
        return ApplicationContext(
            app_id=self._app_id,
            partition_key=self._partition_key,
            sequence_id=self._sequence_id,
            action_name=action_name,
            tracker=self._tracker,
            state_persister=self._persister,
            state_initializer=self._initializer,
            parallel_executor=self._executor,
            parent=self._parent,
        )

    def get_next_action(self) -> Action | None:
        if self._pending:
            self._next = self._graph.next_action(self._prior, self._state._data)
            self._pending = False
        return self._next

    def has_next_action(self) -> bool:
        return self.get_next_action() is not None

    def visualize(self, output_file_path: str | None = None, **kwargs: Any) -> Any:
        from flowc.runtime.visualize import visualize

        return visualize(self, output_file_path, **kwargs)

    # -- stepping --

    def _advance(self, action: Action, state: State) -> None:
        self._state = state
        self._sequence_id += 1
        self._prior = action.name
        self._pending = True

    def step(self, inputs: Mapping[str, Any] | None = None) -> StepResult | None:
        """Run the next action; ``None`` when the graph has nowhere left to go."""
        action = self._next if not self._pending else self.get_next_action()
        if action is None:
            return None
        if self._observed:
            return self._observed_step(action, inputs)
        context = self._context(action.name) if plan_for(action).wants_context else None
        result, state = run_action(action, self._state, inputs, context)
        self._advance(action, state)
        return action, result, state

    def _step_kwargs(self, action: Action) -> dict[str, Any]:
        return {
            "app_id": self._app_id,
            "partition_key": self._partition_key,
            "sequence_id": self._sequence_id,
            "action": action,
        }

    def _observed_step(self, action: Action, inputs: Mapping[str, Any] | None) -> StepResult:
        common = self._step_kwargs(action)
        for hook in self._hooks.pre_step:
            hook.pre_run_step(state=self._state, inputs=dict(inputs or {}), **common)
        result, state, error = None, self._state, None
        try:
            context = self._context(action.name) if plan_for(action).wants_context else None
            result, state = run_action(action, self._state, inputs, context)
            return action, result, state
        except Exception as caught:
            error = caught
            raise
        finally:
            for hook in self._hooks.post_step:
                hook.post_run_step(state=state, result=result, exception=error, **common)
            if error is None:
                self._advance(action, state)

    async def astep(self, inputs: Mapping[str, Any] | None = None) -> StepResult | None:
        """``step`` for async applications: async actions are awaited, hooks' async twins too."""
        action = self.get_next_action()
        if action is None:
            return None
        common = self._step_kwargs(action)
        hooks = self._hooks
        for hook in hooks.pre_step:
            hook.pre_run_step(state=self._state, inputs=dict(inputs or {}), **common)
        for hook in hooks.pre_step_async:
            await hook.pre_run_step_async(state=self._state, inputs=dict(inputs or {}), **common)
        result, state, error = None, self._state, None
        try:
            context = self._context(action.name) if plan_for(action).wants_context else None
            result, state = await arun_action(action, self._state, inputs, context)
            return action, result, state
        except Exception as caught:
            error = caught
            raise
        finally:
            for hook in hooks.post_step:
                hook.post_run_step(state=state, result=result, exception=error, **common)
            for hook in hooks.post_step_async:
                await hook.post_run_step_async(
                    state=state, result=result, exception=error, **common
                )
            if error is None:
                self._advance(action, state)

    # -- running --

    def iterate(
        self,
        *,
        halt_before: Collection[str] | None = None,
        halt_after: Collection[str] | None = None,
        inputs: Mapping[str, Any] | None = None,
    ) -> Generator[StepResult, None, StepResult]:
        """Yield every step's (action, result, state) until a halt or the end; return the last."""
        before, after = _names(halt_before), _names(halt_after)
        last: StepResult = (None, None, self._state)  # type: ignore[assignment]
        while True:
            upcoming = self.get_next_action()
            if upcoming is None:
                return last
            if upcoming.name in before:
                return upcoming, None, self._state  # type: ignore[return-value]
            last = self.step(inputs)  # type: ignore[assignment]
            yield last
            if last[0].name in after:
                return last

    def run(
        self,
        *,
        halt_before: Collection[str] | None = None,
        halt_after: Collection[str] | None = None,
        inputs: Mapping[str, Any] | None = None,
    ) -> StepResult:
        """Step until an action in ``halt_after`` has run, one in ``halt_before`` is next, or
        no transition matches. Returns (action, result, state) of the last step."""
        before, after = _names(halt_before), _names(halt_after)
        last: StepResult = (None, None, self._state)  # type: ignore[assignment]
        while True:
            upcoming = self._next if not self._pending else self.get_next_action()
            if upcoming is None:
                return last
            if before and upcoming.name in before:
                return upcoming, None, self._state  # type: ignore[return-value]
            last = self.step(inputs)  # type: ignore[assignment]
            if last[0].name in after:
                return last

    async def aiterate(
        self,
        *,
        halt_before: Collection[str] | None = None,
        halt_after: Collection[str] | None = None,
        inputs: Mapping[str, Any] | None = None,
    ) -> AsyncGenerator[StepResult, None]:
        before, after = _names(halt_before), _names(halt_after)
        while True:
            upcoming = self.get_next_action()
            if upcoming is None or upcoming.name in before:
                return
            last = await self.astep(inputs)
            yield last  # type: ignore[misc]
            if last[0].name in after:  # type: ignore[index]
                return

    async def arun(
        self,
        *,
        halt_before: Collection[str] | None = None,
        halt_after: Collection[str] | None = None,
        inputs: Mapping[str, Any] | None = None,
    ) -> StepResult:
        before, after = _names(halt_before), _names(halt_after)
        last: StepResult = (None, None, self._state)  # type: ignore[assignment]
        while True:
            upcoming = self.get_next_action()
            if upcoming is None:
                return last
            if upcoming.name in before:
                return upcoming, None, self._state  # type: ignore[return-value]
            last = await self.astep(inputs)  # type: ignore[assignment]
            if last[0].name in after:
                return last

    def __repr__(self) -> str:
        return f"Application(app_id={self._app_id!r}, sequence_id={self._sequence_id})"


def _names(names: Collection[str] | str | None) -> frozenset[str]:
    if not names:
        return frozenset()
    if isinstance(names, str):
        return frozenset((names,))
    return frozenset(names)


def __getattr__(name: str) -> Any:  # ApplicationBuilder lives in builder.py, which imports us
    if name == "ApplicationBuilder":
        from flowc.runtime.builder import ApplicationBuilder

        return ApplicationBuilder
    raise AttributeError(f"module 'flowc.runtime.application' has no attribute {name!r}")
