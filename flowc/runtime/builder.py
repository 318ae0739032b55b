"""``ApplicationBuilder``: assembles a graph, a starting state and the adapters that observe it.

Everything is checked in ``build()``, where the graph is validated, a saved run is loaded if
``initialize_from`` was given, and the first action is chosen.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flowc.errors import FlowCheckError
from flowc.runtime.action import Action
from flowc.runtime.application import Application, ParentPointer
from flowc.runtime.graph import Graph, GraphBuilder, _did_you_mean
from flowc.runtime.hooks import HookSet
from flowc.runtime.state import State, state_from_model


class ApplicationDefinitionError(FlowCheckError, ValueError):
    """The builder was given something it cannot build."""

    default_code = "F264"


class MissingEntrypointError(ApplicationDefinitionError):
    """``build()`` was called without ``with_entrypoint``."""

    default_code = "F266"


class UnknownEntrypointError(ApplicationDefinitionError):
    """The entrypoint names no action of the graph."""

    default_code = "F267"


@dataclass(frozen=True, slots=True)
class _Initializer:
    loader: Any
    resume_at_next_action: bool
    default_state: Any
    default_entrypoint: str | None
    fork_from_app_id: str | None
    fork_from_partition_key: str | None
    fork_from_sequence_id: int | None


class PersisterHook:
    """Saves the state after every step through a persister's ``save``."""

    def __init__(self, persister: Any) -> None:
        self.persister = persister

    def post_run_step(
        self,
        *,
        app_id: str,
        partition_key: str | None,
        sequence_id: int,
        state: State,
        action: Action,
        exception: BaseException | None,
        **future_kwargs: Any,
    ) -> None:
        self.persister.save(
            partition_key,
            app_id,
            sequence_id,
            action.name,
            state,
            "completed" if exception is None else "failed",
        )


def _as_state(value: Any, schema: Any = None) -> State:
    if isinstance(value, State):
        return value if schema is None or value.schema is not None else value.with_schema(schema)
    if value is None:
        return State(schema=schema)
    if not isinstance(value, type) and hasattr(type(value), "model_fields"):  # pydantic model
        return state_from_model(value)
    if isinstance(value, Mapping):
        return State(value, schema=schema)
    raise ApplicationDefinitionError(
        f"cannot use {type(value).__name__} as state",
        hints=("pass keyword values, a dict, a State or a pydantic model instance",),
    )


class ApplicationBuilder:
    """Fluent builder for ``Application`` (the reference page's API)."""

    def __init__(self) -> None:
        self._graph_builder = GraphBuilder()
        self._graph: Graph | None = None
        self._builds_graph = False  # with_actions/with_transitions were called
        self._state: State | None = None
        self._schema: Any = None
        self._entrypoint: str | None = None
        self._app_id: str | None = None
        self._partition_key: str | None = None
        self._sequence_id: int | None = None
        self._hooks: list[Any] = []
        self._tracker: Any = None
        self._persister: Any = None
        self._initializer: _Initializer | None = None
        self._executor: Any = None
        self._parent: ParentPointer | None = None

    # -- the graph --

    def with_actions(self, *args: Any, **kwargs: Any) -> ApplicationBuilder:
        self._graph_builder.with_actions(*args, **kwargs)
        self._builds_graph = True
        return self

    with_action = with_actions

    def with_transitions(self, *transitions: Any) -> ApplicationBuilder:
        self._graph_builder.with_transitions(*transitions)
        self._builds_graph = bool(transitions) or self._builds_graph
        return self

    def with_graph(self, graph: Graph) -> ApplicationBuilder:
        """A prebuilt (reusable) graph, instead of ``with_actions``/``with_transitions``."""
        self._graph = graph
        return self

    # -- where it starts --

    def with_state(self, *state: Any, **values: Any) -> ApplicationBuilder:
        """Keyword values, a ``State``, a dict, or a pydantic model instance (typed state)."""
        if len(state) > 1:
            raise ApplicationDefinitionError("with_state takes at most one positional state")
        base = _as_state(state[0] if state else None)
        if base.schema is not None:
            self._schema = base.schema
        self._state = base.update(**values) if values else base
        return self

    def with_state_schema(self, model: type) -> ApplicationBuilder:
        """Declare the state's schema (a pydantic model class) without giving values."""
        self._schema = model
        return self

    def with_entrypoint(self, action: str) -> ApplicationBuilder:
        self._entrypoint = action
        return self

    def with_identifiers(
        self,
        app_id: str | None = None,
        partition_key: str | None = None,
        sequence_id: int | None = None,
    ) -> ApplicationBuilder:
        self._app_id = app_id
        self._partition_key = partition_key
        self._sequence_id = sequence_id
        return self

    # -- who observes it --

    def with_hooks(self, *hooks: Any) -> ApplicationBuilder:
        self._hooks.extend(hooks)
        return self

    def with_tracker(
        self, tracker: Any = "local", project: str = "default", params: dict | None = None
    ) -> ApplicationBuilder:
        """A tracker object (a hook with ``copy()``), or ``"local"`` for a LocalTrackingClient."""
        if isinstance(tracker, str):
            if tracker != "local":
                raise ApplicationDefinitionError(
                    f"unknown tracker {tracker!r}", hints=("use 'local' or a tracker object",)
                )
            from flowc.runtime.tracking import LocalTrackingClient

            tracker = LocalTrackingClient(project, **(params or {}))
        self._tracker = tracker
        return self

    def with_state_persister(self, persister: Any, on_every: str = "step") -> ApplicationBuilder:
        if on_every != "step":
            raise ApplicationDefinitionError(
                f"on_every={on_every!r} is not supported", hints=("use on_every='step'",)
            )
        self._persister = persister
        return self

    def initialize_from(
        self,
        initializer: Any,
        resume_at_next_action: bool = True,
        default_state: Any = None,
        default_entrypoint: str | None = None,
        fork_from_app_id: str | None = None,
        fork_from_partition_key: str | None = None,
        fork_from_sequence_id: int | None = None,
    ) -> ApplicationBuilder:
        """Load a saved run at build time (or fork one); start fresh from the defaults when
        nothing is saved. A step saved as failed is retried; a completed one is moved past."""
        self._initializer = _Initializer(
            initializer,
            resume_at_next_action,
            default_state,
            default_entrypoint,
            fork_from_app_id,
            fork_from_partition_key,
            fork_from_sequence_id,
        )
        return self

    def with_parallel_executor(self, executor_or_factory: Any) -> ApplicationBuilder:
        """An executor instance or a zero-argument factory, used by parallel actions."""
        self._executor = executor_or_factory
        return self

    def with_spawning_parent(
        self, app_id: str, sequence_id: int | None, partition_key: str | None = None
    ) -> ApplicationBuilder:
        self._parent = ParentPointer(app_id, sequence_id, partition_key)
        return self

    with_parent = with_spawning_parent

    # -- build --

    async def abuild(self) -> Application:
        """``build`` for async code (Burr's spelling; loaders here are synchronous)."""
        return self.build()

    def build(self) -> Application:
        if self._graph is not None and self._builds_graph:
            raise ApplicationDefinitionError(
                "the application was given both a graph (with_graph) and actions or "
                "transitions (with_actions/with_transitions)",
                code="F268",
                hints=("add the actions and transitions to the GraphBuilder instead",),
            )
        graph = self._graph if self._graph is not None else self._graph_builder.build()
        start = self._starting_point(graph)
        app_id = self._app_id or str(uuid.uuid4())
        hooks = list(self._hooks)
        if self._tracker is not None:
            hooks.append(self._tracker)
        if self._persister is not None:
            initialize = getattr(self._persister, "initialize", None)
            if callable(initialize):
                initialize()
            hooks.append(PersisterHook(self._persister))
        return Application(
            graph=graph,
            state=start.state,
            next_action=start.next_action,
            prior_action=start.prior_action,
            app_id=app_id,
            partition_key=self._partition_key,
            sequence_id=start.next_sequence_id,
            last_sequence_id=start.last_sequence_id,
            hooks=HookSet.of(hooks),
            tracker=self._tracker,
            state_persister=self._persister,
            state_initializer=self._initializer.loader if self._initializer else None,
            parallel_executor=self._executor,
            parent=self._parent,
            forked_from=start.forked_from,
            entrypoint=self._configured_entrypoint(),
        )

    def _configured_entrypoint(self) -> str | None:
        """The entrypoint a fresh run starts at (a resumed one may start elsewhere)."""
        init = self._initializer
        if init is not None and init.default_entrypoint is not None:
            return init.default_entrypoint
        return self._entrypoint

    def _entry(self, graph: Graph, name: str | None) -> Action:
        if name is None:
            raise MissingEntrypointError(
                "the application has no entrypoint",
                hints=("call .with_entrypoint('first_action')",),
            )
        if not graph.has_action(name):
            known = [action.name for action in graph.actions]
            raise UnknownEntrypointError(
                f"the entrypoint '{name}' is not an action of the application",
                hints=_did_you_mean(name, known) or (f"actions: {', '.join(known) or 'none'}",),
            )
        return graph.get_action(name)

    def _starting_point(self, graph: Graph) -> _Start:
        init = self._initializer
        first = self._sequence_id or 0
        if init is None:
            state = _as_state(self._state, self._schema)
            return _Start(state, self._entry(graph, self._entrypoint), None, first)
        loaded = self._load(init)
        entry = init.default_entrypoint or self._entrypoint
        if loaded is None:
            default = init.default_state if init.default_state is not None else self._state
            return _Start(_as_state(default, self._schema), self._entry(graph, entry), None, first)
        if loaded.get("state") is None:
            raise ApplicationDefinitionError(
                f"the state initializer returned a saved run without a state: {loaded!r}",
                code="F265",
                hints=("a loader returns None when nothing is saved",),
            )
        state = _as_state(loaded["state"], self._schema)
        position, last = loaded.get("position"), loaded.get("sequence_id")
        last = 0 if last is None else last
        forked_from = None
        if init.fork_from_app_id is not None:
            forked_from = ParentPointer(init.fork_from_app_id, last, init.fork_from_partition_key)
        if position is None or not init.resume_at_next_action:
            return _Start(state, self._entry(graph, entry), None, last + 1, last, forked_from)
        if loaded.get("status") == "failed":  # retry the failed step under its own sequence id
            return _Start(state, self._entry(graph, position), None, last, last, forked_from)
        self._entry(graph, position)  # the saved position must still exist
        return _Start(state, None, position, last + 1, last, forked_from)

    def _load(self, init: _Initializer) -> Mapping[str, Any] | None:
        forking = init.fork_from_app_id is not None
        app_id = init.fork_from_app_id if forking else self._app_id
        if app_id is None:
            return None
        partition_key = init.fork_from_partition_key if forking else self._partition_key
        sequence_id = init.fork_from_sequence_id if forking else None
        return init.loader.load(partition_key, app_id, sequence_id)


@dataclass(frozen=True, slots=True)
class _Start:
    """Where a built application starts: its state, and either the next action or the prior
    one whose transitions choose it; the sequence ids; the run it was forked from."""

    state: State
    next_action: Action | None
    prior_action: str | None
    next_sequence_id: int
    last_sequence_id: int | None = None
    forked_from: ParentPointer | None = None
