"""``Application``: the step loop over a ``Graph``, and the context actions can ask for.

A step picks the next action (first matching transition from the previous one), runs it
(``flowc.runtime.step``), and moves the sequence id on. Hooks — trackers, persisters, user
hooks — see each step before and after; with none attached, ``run`` takes a loop that does
nothing else, which is what keeps a step in the low microseconds. Build applications with
``ApplicationBuilder``.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Collection, Generator, Mapping
from dataclasses import dataclass
from typing import Any

from flowc.runtime.action import Action
from flowc.runtime.graph import Graph, Node
from flowc.runtime.hooks import HookSet
from flowc.runtime.state import EMPTY_RECORD, State
from flowc.runtime.step import (
    arun_action,
    arun_plan,
    finish,
    note_action,
    run_action,
    run_plan,
)

__all__ = [
    "Application",
    "ApplicationBuilder",  # noqa: F822 - served by __getattr__ below
    "ApplicationContext",
    "ParentPointer",
    "arun_action",
    "run_action",
]

StepResult = tuple[Action, dict, State]
NO_HOOKS = HookSet()


@dataclass(frozen=True, slots=True)
class ParentPointer:
    """Which application (and which of its steps) spawned this one, or it was forked from."""

    app_id: str
    sequence_id: int | None
    partition_key: str | None = None


@dataclass(frozen=True, slots=True)
class ApplicationContext:
    """What an action sees of the application running it (pass ``__context`` to receive it).

    ``sequence_id`` is the running step's; ``parent`` points at the application that spawned
    this one (a map's parent), if any."""

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
    """A running state machine. Not thread-safe: one caller steps it at a time.

    The position is a graph ``Node``: either the next node to run (``_node``), or, right after a
    step, the node that just ran (``_prior``) with ``_pending`` set — the transition out of it
    is chosen on demand, once, by the next ``step`` or ``run`` iteration."""

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
        forked_from: ParentPointer | None = None,
        last_sequence_id: int | None = None,
        entrypoint: str | None = None,
    ) -> None:
        self._graph = graph
        self._state = state._fresh()
        self._node: Node | None = None if next_action is None else graph.node(next_action.name)
        self._prior: Node | None = None if prior_action is None else graph.node(prior_action)
        self._pending = next_action is None and prior_action is not None
        self._app_id = app_id
        self._partition_key = partition_key
        self._sequence_id = sequence_id  # the id the next step gets
        self._last_sequence_id = last_sequence_id
        self._hooks = hooks
        self._observed = hooks.observes_steps
        self._tracker = tracker
        self._persister = state_persister
        self._initializer = state_initializer
        self._executor = parallel_executor
        self._parent = parent
        self._forked_from = forked_from
        if entrypoint is None and next_action is not None and prior_action is None:
            entrypoint = next_action.name
        self._entrypoint = entrypoint
        for hook in hooks.post_create:
            hook.post_application_create(
                app_id=app_id,
                partition_key=partition_key,
                state=state,
                application_graph=graph,
                parent_pointer=forked_from,
                spawning_parent_pointer=parent,
            )

    # -- what it is --

    @property
    def state(self) -> State:
        return self._state

    @property
    def sequence_id(self) -> int | None:
        """The sequence id of the last step run (as in Burr): ``None`` before the first step of
        a new run; a loaded run's saved id after ``initialize_from``. The next step gets the
        id after it (a step retried after a failure keeps its own)."""
        return self._last_sequence_id

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
    def entrypoint(self) -> str | None:
        """The action this run started at (``None`` when it was resumed mid-run and the builder
        did not say)."""
        return self._entrypoint

    @property
    def parent_pointer(self) -> ParentPointer | None:
        """The run this application was forked from (``initialize_from(fork_from_app_id=)``)."""
        return self._forked_from

    @property
    def spawning_parent_pointer(self) -> ParentPointer | None:
        """The application (and step) whose parallel action spawned this one."""
        return self._parent

    @property
    def parallel_executor(self) -> Any:
        return self._executor

    @property
    def context(self) -> ApplicationContext:
        upcoming = self._upcoming()
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

    def _upcoming(self) -> Node | None:
        """The node the next step runs (choosing the transition now if it is pending)."""
        if self._pending:
            self._node = self._prior.successor(self._state._data)  # type: ignore[union-attr]
            self._pending = False
        return self._node

    def get_next_action(self) -> Action | None:
        node = self._upcoming()
        return None if node is None else node.action

    def has_next_action(self) -> bool:
        return self._upcoming() is not None

    def visualize(self, output_file_path: str | None = None, **kwargs: Any) -> Any:
        from flowc.runtime.visualize import visualize

        return visualize(self, output_file_path, **kwargs)

    # -- stepping --

    def step(self, inputs: Mapping[str, Any] | None = None) -> StepResult | None:
        """Run the next action; ``None`` when the graph has nowhere left to go."""
        node = self._upcoming()
        if node is None:
            return None
        return self._run_node(node, inputs)

    def _run_node(self, node: Node, inputs: Mapping[str, Any] | None) -> StepResult:
        if self._observed:
            return self._observed_step(node, inputs)
        plan = node.ready_plan
        if plan is None:
            plan = node.plan
        context = self._context(node.name) if plan.wants_context else None
        result, state = run_plan(plan, self._state, inputs, context)
        self._advance(node, state)
        return node.action, result, state

    def _step_kwargs(self, action: Action) -> dict[str, Any]:
        return {
            "app_id": self._app_id,
            "partition_key": self._partition_key,
            "sequence_id": self._sequence_id,
            "action": action,
        }

    def _observed_step(self, node: Node, inputs: Mapping[str, Any] | None) -> StepResult:
        action, hooks = node.action, self._hooks
        app_id, partition_key, sequence_id = self._app_id, self._partition_key, self._sequence_id
        if hooks.pre_step:
            shown = dict(inputs) if inputs else {}
            for hook in hooks.pre_step:
                hook.pre_run_step(
                    app_id=app_id,
                    partition_key=partition_key,
                    sequence_id=sequence_id,
                    action=action,
                    state=self._state,
                    inputs=shown,
                )
        plan = node.ready_plan
        if plan is None:
            plan = node.plan
        try:
            context = self._context(node.name) if plan.wants_context else None
            result, state = run_plan(plan, self._state, inputs, context)
        except Exception as error:
            self._after_failure(error, self._step_kwargs(action))
            raise
        for hook in hooks.post_step:
            hook.post_run_step(
                app_id=app_id,
                partition_key=partition_key,
                sequence_id=sequence_id,
                action=action,
                state=state,
                result=result,
                exception=None,
            )
        self._advance(node, state)
        return action, result, state

    def _after_failure(self, error: Exception, common: dict[str, Any]) -> None:
        """Post-step hooks for a failed step see the exception and the state from before it;
        a hook failing then is noted on the action's exception, which is what propagates."""
        for hook in self._hooks.post_step:
            try:
                hook.post_run_step(state=self._state, result=None, exception=error, **common)
            except Exception as hook_error:
                error.add_note(
                    f"flowc: post_run_step of {type(hook).__name__} also failed: {hook_error!r}"
                )

    async def _aafter_failure(self, error: Exception, common: dict[str, Any]) -> None:
        self._after_failure(error, common)
        for hook in self._hooks.post_step_async:
            try:
                await hook.post_run_step_async(
                    state=self._state, result=None, exception=error, **common
                )
            except Exception as hook_error:
                error.add_note(
                    f"flowc: post_run_step_async of {type(hook).__name__} also "
                    f"failed: {hook_error!r}"
                )

    def _advance(self, node: Node, state: State) -> None:
        self._state = state
        self._last_sequence_id = self._sequence_id
        self._sequence_id += 1
        self._prior = node
        self._pending = True

    async def astep(self, inputs: Mapping[str, Any] | None = None) -> StepResult | None:
        """``step`` for async applications: async actions are awaited, hooks' async twins too."""
        node = self._upcoming()
        if node is None:
            return None
        action = node.action
        common = self._step_kwargs(action)
        hooks = self._hooks
        for hook in hooks.pre_step:
            hook.pre_run_step(state=self._state, inputs=dict(inputs or {}), **common)
        for hook in hooks.pre_step_async:
            await hook.pre_run_step_async(state=self._state, inputs=dict(inputs or {}), **common)
        plan = node.plan
        try:
            context = self._context(node.name) if plan.wants_context else None
            result, state = await arun_plan(plan, self._state, inputs, context)
        except Exception as error:
            await self._aafter_failure(error, common)
            raise
        for hook in hooks.post_step:
            hook.post_run_step(state=state, result=result, exception=None, **common)
        for hook in hooks.post_step_async:
            await hook.post_run_step_async(state=state, result=result, exception=None, **common)
        self._advance(node, state)
        return action, result, state

    # -- running --

    def iterate(
        self,
        *,
        halt_before: Collection[str] | None = None,
        halt_after: Collection[str] | None = None,
        inputs: Mapping[str, Any] | None = None,
    ) -> Generator[StepResult, None, StepResult]:
        """Yield every step's (action, result, state) until a halt or the end; return the last
        (for a halt_before: the action that would have run next, ``None``, the state)."""
        before, after = _names(halt_before), _names(halt_after)
        last: StepResult = (None, None, self._state)  # type: ignore[assignment]
        while True:
            node = self._upcoming()
            if node is None:
                return last
            if node.name in before:
                return node.action, None, self._state  # type: ignore[return-value]
            last = self._run_node(node, inputs)
            yield last
            if node.name in after:
                return last

    def run(
        self,
        *,
        halt_before: Collection[str] | None = None,
        halt_after: Collection[str] | None = None,
        inputs: Mapping[str, Any] | None = None,
    ) -> StepResult:
        """Step until an action in ``halt_after`` has run, one in ``halt_before`` is next, or
        no transition matches. Returns (action, result, state) of the last step; for a
        ``halt_before`` stop, the action that would have run next, ``None`` and the state."""
        before, after = _names(halt_before), _names(halt_after)
        observed = self._observed
        # The step loop, inlined: unobserved, this is the whole per-step cost of a plain flow.
        last: StepResult = (None, None, self._state)  # type: ignore[assignment]
        node = self._upcoming()
        while node is not None:
            name = node.name
            if name in before:
                return node.action, None, self._state  # type: ignore[return-value]
            if observed:
                last = self._observed_step(node, inputs)
                state = last[2]
            else:
                plan = node.ready_plan
                if plan is None:  # the node's first step: make its plan (Node says why)
                    plan = node.plan
                given = self._state  # always fresh: it came from run_plan or _fresh()
                if plan.inline:
                    # run_plan's common case, inlined (see step.run_plan for the full rules)
                    try:
                        out = plan.call(given, **plan.bound)
                        written = out._written if type(out) is State else None
                        if (
                            written is not None
                            and out._schema is None
                            and len(written) == plan.n_writes
                            and plan.writes.issuperset(written)
                        ):
                            if out is not given:
                                out._written = EMPTY_RECORD
                            result, state = {}, out
                        else:
                            result, state = finish(plan, given, out)
                    except Exception as error:
                        note_action(error, plan)
                        raise
                else:
                    context = self._context(name) if plan.wants_context else None
                    result, state = run_plan(plan, given, inputs, context)
                self._state = state
                self._last_sequence_id = self._sequence_id
                self._sequence_id += 1
                self._prior = node
                self._pending = True
                last = (node.action, result, state)
            if name in after:
                return last
            # ``_upcoming`` inlined; if a condition raises, the transition stays pending.
            following = node.always
            if following is None and node.edges:
                following = node.successor(state._data)
            self._node = node = following
            self._pending = False
        return last

    async def aiterate(
        self,
        *,
        halt_before: Collection[str] | None = None,
        halt_after: Collection[str] | None = None,
        inputs: Mapping[str, Any] | None = None,
    ) -> AsyncGenerator[StepResult, None]:
        """Async ``iterate``: yields every step until a halt or the end."""
        before, after = _names(halt_before), _names(halt_after)
        while True:
            node = self._upcoming()
            if node is None or node.name in before:
                return
            last = await self.astep(inputs)
            yield last  # type: ignore[misc]
            if node.name in after:
                return

    async def arun(
        self,
        *,
        halt_before: Collection[str] | None = None,
        halt_after: Collection[str] | None = None,
        inputs: Mapping[str, Any] | None = None,
    ) -> StepResult:
        """Async ``run``: the same halting rules, with async actions and hooks awaited."""
        before, after = _names(halt_before), _names(halt_after)
        last: StepResult = (None, None, self._state)  # type: ignore[assignment]
        while True:
            node = self._upcoming()
            if node is None:
                return last
            if node.name in before:
                return node.action, None, self._state  # type: ignore[return-value]
            last = await self.astep(inputs)  # type: ignore[assignment]
            if node.name in after:
                return last

    def __repr__(self) -> str:
        return f"Application(app_id={self._app_id!r}, sequence_id={self._last_sequence_id})"


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
