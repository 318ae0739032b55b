"""Persistence and tracking through ApplicationBuilder: a row after every step, resume after a
failure retries the failed step, resume after a completed step moves on, forks start from
another run's state, and the cascade rules for parallel branches hold."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from flowc.runtime import ApplicationBuilder, State, action
from flowc.runtime.parallelism import MapOptions, MapStates
from flowc.runtime.persistence import InMemoryPersister, SQLitePersister
from flowc.runtime.serialization import StateSerializationError
from flowc.runtime.tracking import LocalTrackingClient, load_run


class Calls:
    """Counts action invocations and makes chosen ones fail, across app instances."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.fail: set[str] = set()

    def hit(self, name: str) -> None:
        self.counts[name] += 1
        if name in self.fail:
            raise RuntimeError(f"{name} failed on purpose")


def chain(calls: Calls) -> dict[str, Any]:
    @action(reads=["n"], writes=["n"])
    def a(state: State) -> State:
        calls.hit("a")
        return state.update(n=state["n"] + 1)

    @action(reads=["n"], writes=["n"])
    def b(state: State) -> State:
        calls.hit("b")
        return state.update(n=state["n"] * 10)

    @action(reads=["n"], writes=["done"])
    def c(state: State) -> State:
        calls.hit("c")
        return state.update(done=True)

    return {"a": a, "b": b, "c": c}


def chain_app(calls: Calls, persister: Any, app_id: str, **initialize: Any) -> Any:
    builder = (
        ApplicationBuilder()
        .with_actions(**chain(calls))
        .with_transitions(("a", "b"), ("b", "c"))
        .with_state_persister(persister)
        .with_identifiers(app_id=app_id)
    )
    builder = builder.initialize_from(
        persister,
        resume_at_next_action=True,
        default_state={"n": 1},
        default_entrypoint="a",
        **initialize,
    )
    return builder.build()


def saved(persister: SQLitePersister, app_id: str) -> list[tuple[str, str]]:
    rows = persister.connection.execute(
        "SELECT position, status FROM burr_state WHERE app_id = ? ORDER BY id", (app_id,)
    ).fetchall()
    return [tuple(r) for r in rows]


@pytest.fixture
def persister(tmp_path: Path) -> Any:
    p = SQLitePersister(tmp_path / "app.db")
    p.initialize()
    yield p
    p.close()


def test_every_step_is_saved_as_completed(persister: SQLitePersister) -> None:
    calls = Calls()
    _, _, state = chain_app(calls, persister, "run-1").run(halt_after=["c"])
    assert state["n"] == 20 and state["done"] is True
    assert saved(persister, "run-1") == [("a", "completed"), ("b", "completed"), ("c", "completed")]


def test_resuming_after_a_completed_step_moves_on(persister: SQLitePersister) -> None:
    calls = Calls()
    chain_app(calls, persister, "run-1").run(halt_after=["b"])
    resumed = chain_app(calls, persister, "run-1")
    _, _, state = resumed.run(halt_after=["c"])
    assert calls.counts == Counter(a=1, b=1, c=1)
    assert state["n"] == 20 and state["done"] is True


def test_resuming_after_a_failed_step_retries_it(persister: SQLitePersister) -> None:
    calls = Calls()
    calls.fail.add("b")
    with pytest.raises(RuntimeError, match="b failed"):
        chain_app(calls, persister, "run-1").run(halt_after=["c"])
    assert saved(persister, "run-1") == [("a", "completed"), ("b", "failed")]
    calls.fail.clear()
    _, _, state = chain_app(calls, persister, "run-1").run(halt_after=["c"])
    assert calls.counts == Counter(a=1, b=2, c=1)
    assert state["n"] == 20
    assert saved(persister, "run-1")[-2:] == [("b", "completed"), ("c", "completed")]


def test_a_fork_starts_from_another_runs_state_and_leaves_it_alone(
    persister: SQLitePersister, tmp_path: Path
) -> None:
    calls = Calls()
    chain_app(calls, persister, "original").run(halt_after=["b"])
    tracker = LocalTrackingClient("forks", storage_dir=tmp_path)
    fork = (
        ApplicationBuilder()
        .with_actions(**chain(calls))
        .with_transitions(("a", "b"), ("b", "c"))
        .with_state_persister(persister)
        .with_tracker(tracker)
        .with_identifiers(app_id="fork")
        .initialize_from(
            persister,
            resume_at_next_action=True,
            default_state={"n": 1},
            default_entrypoint="a",
            fork_from_app_id="original",
        )
        .build()
    )
    _, _, state = fork.run(halt_after=["c"])
    assert state["n"] == 20 and calls.counts["c"] == 1
    assert saved(persister, "original") == [("a", "completed"), ("b", "completed")]
    assert saved(persister, "fork")[-1] == ("c", "completed")
    assert [step.action for step in load_run("forks", "fork", tmp_path).steps] == ["c"]


def test_a_tracked_fork_is_listed_under_its_source(
    persister: SQLitePersister, tmp_path: Path
) -> None:
    calls = Calls()
    tracker = LocalTrackingClient("forks", storage_dir=tmp_path)
    original = (
        ApplicationBuilder()
        .with_actions(**chain(calls))
        .with_transitions(("a", "b"), ("b", "c"))
        .with_state_persister(persister)
        .with_tracker(tracker)
        .with_identifiers(app_id="original")
        .with_entrypoint("a")
        .with_state(n=1)
        .build()
    )
    original.run(halt_after=["b"])
    fork = (
        ApplicationBuilder()
        .with_actions(**chain(calls))
        .with_transitions(("a", "b"), ("b", "c"))
        .with_state_persister(persister)
        .with_tracker(tracker.copy())
        .with_identifiers(app_id="fork")
        .initialize_from(
            persister,
            resume_at_next_action=True,
            default_state={"n": 1},
            default_entrypoint="a",
            fork_from_app_id="original",
        )
        .build()
    )
    fork.run(halt_after=["c"])
    assert load_run("forks", "fork", tmp_path).forked_from["app_id"] == "original"
    assert [c.app_id for c in load_run("forks", "original", tmp_path).children] == ["fork"]


def test_an_unserialisable_write_fails_the_step_and_writes_nothing(
    persister: SQLitePersister,
) -> None:
    @action(reads=[], writes=["handle"])
    def opens(state: State) -> State:
        return state.update(handle=object())

    app = (
        ApplicationBuilder()
        .with_actions(opens=opens)
        .with_transitions()
        .with_state_persister(persister)
        .with_identifiers(app_id="bad")
        .with_entrypoint("opens")
        .with_state(n=1)
        .build()
    )
    with pytest.raises(StateSerializationError) as caught:
        app.run(halt_after=["opens"])
    assert caught.value.key == "handle"
    assert ("opens", "completed") not in saved(persister, "bad")


# -- parallel branches --------------------------------------------------------------------------


@action(reads=["i"], writes=["out"])
def double(state: State) -> State:
    return state.update(out=2 * state["i"])


class Doubles(MapStates):
    """A map over range(n); subclasses override the cascade behaviours."""

    def action(self, state: State, inputs: dict[str, Any]) -> Any:
        return double

    def states(self, state: State, context: Any, inputs: dict[str, Any]) -> Any:
        for i in range(state["n"]):
            yield state.update(i=i)

    def reduce(self, state: State, states: Any) -> State:
        return state.update(results=[s["out"] for s in states], rounds=state["rounds"] + 1)

    @property
    def reads(self) -> list[str]:
        return ["n", "rounds"]

    @property
    def writes(self) -> list[str]:
        return ["results", "rounds"]


def map_app(fan_out: MapStates, persister: Any, tracker: Any = None, rounds: int = 1) -> Any:
    @action(reads=["rounds"], writes=[])
    def check(state: State) -> State:
        return state

    builder = (
        ApplicationBuilder()
        .with_actions(fan_out=fan_out, check=check)
        .with_transitions(("fan_out", "check"), ("check", "fan_out"))
        .with_identifiers(app_id="parent")
        .with_entrypoint("fan_out")
        .with_state(n=5, rounds=0)
    )
    if persister is not None:
        builder = builder.with_state_persister(persister)
    if tracker is not None:
        builder = builder.with_tracker(tracker)
    app = builder.build()
    for _ in range(rounds):
        app.run(halt_after=["fan_out"])
    return app


def child_ids(persister: SQLitePersister) -> set[str]:
    return set(persister.list_app_ids("")) - {"parent"}


def test_the_persister_cascades_to_every_branch_by_default(persister: SQLitePersister) -> None:
    map_app(Doubles(), persister)
    children = child_ids(persister)
    assert len(children) == 5
    assert sorted(persister.load("", c)["state"]["out"] for c in children) == [0, 2, 4, 6, 8]


def test_a_map_can_turn_branch_persistence_off(persister: SQLitePersister) -> None:
    class Unsaved(Doubles):
        def state_persister(self, **kwargs: Any) -> Any:
            return None

    map_app(Unsaved(), persister)
    assert child_ids(persister) == set()


def test_a_map_can_send_branches_to_another_persister(persister: SQLitePersister) -> None:
    elsewhere = InMemoryPersister()

    class Elsewhere(Doubles):
        def state_persister(self, **kwargs: Any) -> Any:
            return elsewhere

    map_app(Elsewhere(), persister)
    assert child_ids(persister) == set()
    assert len(elsewhere.list_app_ids("")) == 5


def test_repeated_invocations_of_a_map_get_distinct_branch_ids(
    persister: SQLitePersister,
) -> None:
    map_app(Doubles(), persister, rounds=2)
    assert len(child_ids(persister)) == 10


def test_the_tracker_cascades_and_lists_branches_under_the_parent(
    persister: SQLitePersister, tmp_path: Path
) -> None:
    map_app(Doubles(), None, tracker=LocalTrackingClient("maps", storage_dir=tmp_path))
    run = load_run("maps", "parent", tmp_path)
    assert len(run.children) == 5
    assert {c.steps[-1].action for c in run.children} == {"double"}
    assert all(c.spawning_parent["app_id"] == "parent" for c in run.children)
    assert run.graph is not None and {a["name"] for a in run.graph["actions"]} >= {"fan_out"}


def test_a_map_can_turn_tracking_off(tmp_path: Path) -> None:
    class Untracked(Doubles):
        def tracker(self, context: Any = None) -> Any:
            return None

    map_app(Untracked(), None, tracker=LocalTrackingClient("maps", storage_dir=tmp_path))
    assert load_run("maps", "parent", tmp_path).children == ()


def test_a_resumed_map_runs_only_the_branches_not_saved(persister: SQLitePersister) -> None:
    ran: Counter[int] = Counter()

    @action(reads=["i"], writes=["out"])
    def flaky(state: State) -> State:
        ran[state["i"]] += 1
        if state["i"] == 3 and ran[3] == 1:
            raise RuntimeError("branch 3 fails the first time")
        return state.update(out=2 * state["i"])

    class Flaky(Doubles):
        # one branch at a time: a branch still running when the map fails would go on in the
        # background (threads cannot be stopped) and race the resumed run
        options = MapOptions(max_concurrency=1)

        def action(self, state: State, inputs: dict[str, Any]) -> Any:
            return flaky

    def build() -> Any:
        return (
            ApplicationBuilder()
            .with_actions(fan_out=Flaky())
            .with_transitions()
            .with_state_persister(persister)
            .initialize_from(
                persister,
                resume_at_next_action=True,
                default_state={"n": 6, "rounds": 0},
                default_entrypoint="fan_out",
            )
            .with_identifiers(app_id="parent")
            .build()
        )

    with pytest.raises(Exception, match="branch 3"):
        build().run(halt_after=["fan_out"])
    first = dict(ran)
    _, _, state = build().run(halt_after=["fan_out"])
    assert state["results"] == [0, 2, 4, 6, 8, 10]
    saved_before = {i for i, count in first.items() if i != 3}
    for i in range(6):
        # a branch that had finished (and was saved) is not run again
        assert ran[i] == (first.get(i, 0) + (0 if i in saved_before else 1))
