"""ApplicationBuilder: graph, state, entrypoint, identifiers, hooks and persistence seams."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from flowc.errors import FlowCheckError
from flowc.runtime import ApplicationBuilder, GraphBuilder, State, action
from flowc.runtime.application import ParentPointer


@action(reads=["n"], writes=["n"])
def a(state: State) -> State:
    return state.update(n=state["n"] + 1)


@action(reads=["n"], writes=["n"])
def b(state: State) -> State:
    return state.update(n=state["n"] * 10)


@action(reads=["n"], writes=["n"])
def c(state: State) -> State:
    return state.update(n=state["n"] - 1)


def chain() -> ApplicationBuilder:
    return ApplicationBuilder().with_actions(a=a, b=b, c=c).with_transitions(("a", "b"), ("b", "c"))


class SequenceRecorder:
    """A hook remembering (action, sequence_id) of every finished step."""

    def __init__(self) -> None:
        self.steps: list[tuple[str, int]] = []

    def post_run_step(self, *, action: Any, sequence_id: int, **future: Any) -> None:
        self.steps.append((action.name, sequence_id))


class DictPersister:
    """The persistence protocol, in memory: what a loader returns and what a saver is given."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.initialized = 0

    def initialize(self) -> None:
        self.initialized += 1

    def save(self, partition_key, app_id, sequence_id, position, state, status, **kw) -> None:
        self.rows.append(
            {
                "partition_key": partition_key,
                "app_id": app_id,
                "sequence_id": sequence_id,
                "position": position,
                "state": state,
                "created_at": "now",
                "status": status,
            }
        )

    def load(self, partition_key, app_id, sequence_id=None) -> dict[str, Any] | None:
        rows = [row for row in self.rows if row["app_id"] == app_id]
        if sequence_id is not None:
            rows = [row for row in rows if row["sequence_id"] == sequence_id]
        return rows[-1] if rows else None

    def saved(self, app_id: str) -> list[tuple[str, int, str]]:
        return [
            (row["position"], row["sequence_id"], row["status"])
            for row in self.rows
            if row["app_id"] == app_id
        ]


# -- graph and state --


def test_with_action_is_with_actions_and_with_graph_takes_a_prebuilt_graph():
    graph = GraphBuilder().with_action(a=a, b=b).with_transitions(("a", "b")).build()
    app = ApplicationBuilder().with_graph(graph).with_state(n=1).with_entrypoint("a").build()
    _, _, state = app.run(halt_after=["b"])
    assert state["n"] == 20
    _, _, state = chain().with_state(n=1).with_entrypoint("a").build().run(halt_after=["c"])
    assert state["n"] == 19


@pytest.mark.parametrize("given", [State({"n": 1}), {"n": 1}])
def test_with_state_takes_a_state_or_a_mapping(given):
    app = chain().with_state(given).with_entrypoint("a").build()
    assert app.state["n"] == 1


def test_with_state_keywords_are_added_to_a_given_state():
    app = chain().with_state(State({"n": 1}), extra=2).with_entrypoint("a").build()
    assert dict(app.state) == {"n": 1, "extra": 2}


def test_a_missing_entrypoint_is_a_build_error():
    with pytest.raises(ValueError) as caught:
        chain().with_state(n=1).build()
    assert isinstance(caught.value, FlowCheckError)
    assert caught.value.code.startswith("F2")
    assert "entrypoint" in str(caught.value)


def test_an_unknown_entrypoint_is_a_build_error_with_a_did_you_mean_hint():
    with pytest.raises(FlowCheckError) as caught:
        chain().with_state(n=1).with_entrypoint("aa").build()
    assert "'aa'" in str(caught.value)
    assert any("'a'" in hint for hint in caught.value.hints)


def test_a_transition_naming_an_unknown_action_is_a_build_error():
    with pytest.raises(FlowCheckError) as caught:
        chain().with_transitions(("c", "d")).with_entrypoint("a").build()
    assert "'d'" in str(caught.value)


# -- identity and context --


def test_an_app_without_an_id_gets_a_fresh_uuid():
    first = chain().with_state(n=1).with_entrypoint("a").build()
    second = chain().with_state(n=1).with_entrypoint("a").build()
    assert uuid.UUID(first.app_id) and first.app_id != second.app_id
    assert first.uid == first.app_id


def test_identifiers_executor_and_spawning_parent_reach_the_context():
    with ThreadPoolExecutor(max_workers=1) as pool:
        app = (
            chain()
            .with_state(n=1)
            .with_entrypoint("a")
            .with_identifiers(app_id="child", partition_key="user")
            .with_parallel_executor(pool)
            .with_spawning_parent("parent", 4, "user")
            .build()
        )
        context = app.context
        assert (app.app_id, app.partition_key) == ("child", "user")
        assert (context.app_id, context.partition_key) == ("child", "user")
        assert context.parallel_executor is pool
        assert context.parallel_executor_factory() is pool
        assert context.parent == ParentPointer("parent", 4, "user")
        assert context.action_name == "a"


# -- persistence seams --


def test_a_persister_is_initialized_at_build_and_saves_every_step():
    persister = DictPersister()
    app = (
        chain()
        .with_state(n=1)
        .with_entrypoint("a")
        .with_identifiers(app_id="run")
        .with_state_persister(persister)
        .build()
    )
    assert persister.initialized == 1
    app.run(halt_after=["c"])
    assert persister.saved("run") == [
        ("a", 0, "completed"),
        ("b", 1, "completed"),
        ("c", 2, "completed"),
    ]
    assert persister.rows[-1]["state"]["n"] == 19


def test_a_failed_step_is_saved_as_failed_with_the_state_before_it():
    @action(reads=["n"], writes=["n"])
    def broken(state: State) -> State:
        raise RuntimeError("down")

    persister = DictPersister()
    app = (
        ApplicationBuilder()
        .with_actions(a=a, b=broken)
        .with_transitions(("a", "b"))
        .with_state(n=1)
        .with_entrypoint("a")
        .with_identifiers(app_id="run")
        .with_state_persister(persister)
        .build()
    )
    with pytest.raises(RuntimeError, match="down"):
        app.run(halt_after=["b"])
    assert persister.saved("run") == [("a", 0, "completed"), ("b", 1, "failed")]
    assert persister.rows[-1]["state"]["n"] == 2


def resumed(persister: DictPersister, **kw: Any) -> tuple[Any, SequenceRecorder]:
    recorder = SequenceRecorder()
    app = (
        chain()
        .with_identifiers(app_id="run")
        .with_hooks(recorder)
        .initialize_from(persister, default_state={"n": 100}, default_entrypoint="a", **kw)
        .build()
    )
    return app, recorder


def test_resuming_after_a_completed_step_continues_with_the_next_action_and_sequence_id():
    persister = DictPersister()
    persister.save(None, "run", 0, "a", State({"n": 2}), "completed")
    app, recorder = resumed(persister)
    _, _, state = app.run(halt_after=["c"])
    assert state["n"] == 19
    assert recorder.steps == [("b", 1), ("c", 2)]


def test_resuming_after_a_failed_step_retries_it_under_the_same_sequence_id():
    persister = DictPersister()
    persister.save(None, "run", 0, "a", State({"n": 2}), "completed")
    persister.save(None, "run", 1, "b", State({"n": 2}), "failed")
    app, recorder = resumed(persister)
    _, _, state = app.run(halt_after=["c"])
    assert state["n"] == 19
    assert recorder.steps == [("b", 1), ("c", 2)]


def test_initializing_from_an_empty_store_starts_from_the_defaults():
    app, recorder = resumed(DictPersister())
    _, _, state = app.run(halt_after=["c"])
    assert state["n"] == (100 + 1) * 10 - 1
    assert recorder.steps == [("a", 0), ("b", 1), ("c", 2)]


def test_not_resuming_at_the_next_action_restarts_at_the_default_entrypoint_with_saved_state():
    persister = DictPersister()
    persister.save(None, "run", 0, "a", State({"n": 2}), "completed")
    app, _ = resumed(persister, resume_at_next_action=False)
    assert app.get_next_action().name == "a"
    assert app.state["n"] == 2


def test_a_fork_starts_from_another_runs_saved_state_and_leaves_that_run_alone():
    persister = DictPersister()
    persister.save(None, "original", 0, "a", State({"n": 2}), "completed")
    app = (
        chain()
        .with_identifiers(app_id="fork")
        .with_state_persister(persister)
        .initialize_from(
            persister,
            default_state={"n": 100},
            default_entrypoint="a",
            fork_from_app_id="original",
        )
        .build()
    )
    _, _, state = app.run(halt_after=["c"])
    assert state["n"] == 19
    assert persister.saved("original") == [("a", 0, "completed")]
    assert [row[0] for row in persister.saved("fork")] == ["b", "c"]
    assert app.parent_pointer is not None and app.parent_pointer.app_id == "original"


def test_a_graph_and_separate_actions_together_are_a_build_error():
    graph = GraphBuilder().with_actions(a=a).build()
    with pytest.raises(FlowCheckError) as caught:
        ApplicationBuilder().with_graph(graph).with_actions(b=b).with_entrypoint("a").build()
    assert "with_graph" in str(caught.value)


def test_a_resumed_app_reports_its_configured_entrypoint():
    persister = DictPersister()
    persister.save(None, "run", 0, "a", State({"n": 2}), "completed")
    app, _ = resumed(persister)
    assert app.get_next_action().name == "b"
    assert app.entrypoint == "a"
