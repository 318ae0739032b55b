"""Maps inside real applications: child ids, cascading adapters, keys, streaming, async."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncGenerator, Generator
from typing import Any

import pytest
from over_range import OverRange

from flowc.runtime import action
from flowc.runtime.application import ApplicationBuilder
from flowc.runtime.executors import MultiThreadedExecutor
from flowc.runtime.graph import GraphBuilder
from flowc.runtime.parallelism import (
    BranchFailedError,
    BranchResult,
    DuplicateTaskKeyError,
    MapOptions,
    MissingContextError,
    RunnableGraph,
    StreamEnd,
    SubGraphTask,
    stream_branches,
)
from flowc.runtime.state import State


@action(reads=["i"], writes=["out"])
def work(state: State) -> State:
    return state.update(out=2 * state["i"] + 1)


@action(reads=["i"], writes=["app_id", "parent"])
def who_am_i(state: State, __context: Any) -> State:
    return state.update(app_id=__context.app_id, parent=__context.parent)


class Over(OverRange):
    branch: Any = work


class WhoAmI(Over):
    branch = who_am_i
    field = "app_id"


def build(map_action: Any, app_id: str = "parent-app", **state: Any) -> Any:
    return (
        ApplicationBuilder()
        .with_action(fan_out=map_action)
        .with_entrypoint("fan_out")
        .with_state(**state)
        .with_identifiers(app_id=app_id)
        .build()
    )


def run(app: Any, halt: str = "fan_out") -> State:
    return app.run(halt_after=[halt])[2]


def test_reduce_gets_branch_states_in_task_order() -> None:
    assert run(build(Over(), n=50))["results"] == [2 * i + 1 for i in range(50)]


def test_child_ids_are_stable_for_the_same_parent_step() -> None:
    first = run(build(WhoAmI(), n=3))["results"]
    again = run(build(WhoAmI(), n=3))["results"]
    assert first == again and len(set(first)) == 3


def test_child_ids_differ_between_parents() -> None:
    mine = run(build(WhoAmI(), app_id="a", n=2))["results"]
    theirs = run(build(WhoAmI(), app_id="b", n=2))["results"]
    assert not set(mine) & set(theirs)


@action(reads=["rounds"], writes=["rounds", "all_ids"])
def count_round(state: State) -> State:
    return state.update(rounds=state["rounds"] + 1, all_ids=state["all_ids"] + state["results"])


def test_child_ids_differ_across_repeated_invocations_in_one_run() -> None:
    app = (
        ApplicationBuilder()
        .with_action(fan_out=WhoAmI(), count=count_round)
        .with_transitions(("fan_out", "count"), ("count", "fan_out"))
        .with_entrypoint("fan_out")
        .with_state(n=3, rounds=0, all_ids=[])
        .with_identifiers(app_id="looping")
        .build()
    )
    for _ in range(2):
        app.run(halt_after=["count"])
    ids = app.state["all_ids"]
    assert len(ids) == 6 and len(set(ids)) == 6  # Burr issue 761: ids collide here


def test_children_point_at_their_parent() -> None:
    class Parents(WhoAmI):
        field = "parent"

    parents = run(build(Parents(), app_id="p", n=2))["results"]
    assert all(p.app_id == "p" for p in parents)


def test_a_task_key_field_replaces_positions_in_child_ids() -> None:
    class Keyed(WhoAmI):
        options = MapOptions(task_key="name")

        def states(self, state: State, context: Any, inputs: dict[str, Any]) -> Generator[State]:
            for i, name in enumerate(state["names"]):
                yield state.update(i=i, name=name)

    forward = run(build(Keyed(), n=0, names=["x", "y"]))["results"]
    backward = run(build(Keyed(), n=0, names=["y", "x"]))["results"]
    assert forward == list(reversed(backward))  # the id follows the key, not the position


def test_duplicate_task_keys_are_refused() -> None:
    class Dup(Over):
        options = MapOptions(task_key=lambda state: "same")

    with pytest.raises(DuplicateTaskKeyError):
        run(build(Dup(), n=2))


def test_a_map_without_context_raises_f526() -> None:
    with pytest.raises(MissingContextError):
        Over().run_and_update(State({"n": 1}))


@action(reads=["i"], writes=["out"])
def explode_on_one(state: State) -> State:
    if state["i"] == 1:
        raise ValueError("branch one")
    return state.update(out=state["i"])


def test_fail_fast_leaves_the_parent_state_unchanged() -> None:
    class Failing(Over):
        branch = explode_on_one

    app = build(Failing(), n=5)
    with pytest.raises(BranchFailedError) as caught:
        run(app)
    assert isinstance(caught.value, ValueError) and "branch 1" in str(caught.value)
    assert "results" not in app.state


# -- cascading trackers, persisters, loaders (small real hook objects) -------------------------


class CopyCounter:
    """A persister/loader/tracker stand-in that records copies and calls."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.copies: list[CopyCounter] = []
        self.saved: list[str] = []
        self.lock = threading.Lock()

    def copy(self) -> CopyCounter:
        child = CopyCounter(self.name + "'")
        with self.lock:
            self.copies.append(child)
        return child

    # persister protocol
    def initialize(self) -> None: ...

    def save(self, partition_key: Any, app_id: str, sequence_id: int, *args: Any, **kw: Any):
        self.saved.append(app_id)

    def load(self, partition_key: Any, app_id: str, sequence_id: Any = None) -> Any:
        return None

    def list_app_ids(self, partition_key: Any, **kw: Any) -> list[str]:
        return []


def adapters_for(map_action: Any, tracker: Any, persister: Any, loader: Any) -> tuple:
    context = type("Ctx", (), {})()
    context.tracker, context.state_persister, context.state_initializer = tracker, persister, loader
    return map_action._adapters(context)()


def test_cascade_copies_the_parents_objects_per_child() -> None:
    tracker, persister, loader = CopyCounter("t"), CopyCounter("p"), CopyCounter("l")
    got = adapters_for(Over(), tracker, persister, loader)
    assert got == (tracker.copies[0], persister.copies[0], loader.copies[0])


def test_one_parent_object_for_saving_and_loading_gives_one_shared_copy() -> None:
    both = CopyCounter("both")
    _, saver, loader = adapters_for(Over(), None, both, both)
    assert saver is loader and len(both.copies) == 1


def test_none_disables_and_an_object_replaces() -> None:
    custom = CopyCounter("custom")

    class Overrides(Over):
        def tracker(self, context: Any) -> Any:
            return None

        def state_persister(self) -> Any:
            return custom

        def state_initializer(self) -> Any:
            return None

    got = adapters_for(Overrides(), CopyCounter("t"), CopyCounter("p"), CopyCounter("l"))
    assert got == (None, custom, None)


def test_objects_without_copy_are_shared_as_is() -> None:
    class NoCopy:
        pass

    shared = NoCopy()
    assert adapters_for(Over(), shared, None, None) == (shared, None, None)


def test_subgraph_task_accepts_action_or_graph_and_per_task_adapters() -> None:
    tracker = CopyCounter("t")
    task = SubGraphTask(action=work, state=State({"i": 1}), inputs={}, tracker=tracker)
    assert isinstance(task.graph, RunnableGraph) and task.tracker is tracker


# -- streaming, concurrency, async ------------------------------------------------------------


@action(reads=["i"], writes=["out"])
def slow_first(state: State) -> State:
    time.sleep(0.05 if state["i"] == 0 else 0.001)
    return state.update(out=state["i"])


def test_stream_branches_yields_outcomes_as_they_complete_and_reduce_keeps_order() -> None:
    class Streamed(Over):
        branch = slow_first

    app = (
        ApplicationBuilder()
        .with_action(fan_out=Streamed())
        .with_entrypoint("fan_out")
        .with_state(n=4)
        .with_parallel_executor(MultiThreadedExecutor(max_concurrency=4))
        .build()
    )
    events = list(stream_branches(app, halt_after=["fan_out"]))
    outcomes = [e for e in events if isinstance(e, BranchResult)]
    assert isinstance(events[-1], StreamEnd)
    assert events[-1].state["results"] == [0, 1, 2, 3]
    assert sorted(o.index for o in outcomes) == [0, 1, 2, 3] and outcomes[-1].index == 0


@action(reads=["i"], writes=["out"])
async def async_work(state: State) -> State:
    await asyncio.sleep(0.001)
    return state.update(out=state["i"] * 10)


class AsyncOver(Over):
    branch = async_work
    options = MapOptions(max_concurrency=3)

    def is_async(self) -> bool:
        return True

    async def states(self, state: State, context: Any, inputs: dict[str, Any]) -> AsyncGenerator:
        for i in range(state["n"]):
            yield state.update(i=i)

    async def reduce(self, state: State, states: AsyncGenerator) -> State:
        return state.update(results=[sub["out"] async for sub in states])


def test_an_async_map_runs_async_branches_and_reduces_in_order() -> None:
    app = build(AsyncOver(), n=10)
    final = asyncio.run(app.arun(halt_after=["fan_out"]))[2]
    assert final["results"] == [i * 10 for i in range(10)]


def test_an_async_branch_in_a_sync_map_runs_to_completion() -> None:
    class SyncOverAsync(Over):
        branch = async_work

    assert run(build(SyncOverAsync(), n=3))["results"] == [0, 10, 20]


# -- nested maps ------------------------------------------------------------------------------


def test_nested_maps_on_a_four_thread_pool_complete() -> None:
    @action(reads=["i"], writes=["out"])
    def tiny(state: State) -> State:
        time.sleep(0.001)
        return state.update(out=1)

    class Inner(Over):
        branch = tiny

        def states(self, state: State, context: Any, inputs: dict[str, Any]) -> Generator[State]:
            for i in range(8):
                yield state.update(i=i)

    inner_graph = GraphBuilder().with_action(inner=Inner()).build()

    class Outer(Over):
        branch = RunnableGraph(inner_graph, "inner", ["inner"])
        field = "results"

    app = (
        ApplicationBuilder()
        .with_action(fan_out=Outer())
        .with_entrypoint("fan_out")
        .with_state(n=8)
        .with_parallel_executor(MultiThreadedExecutor(max_concurrency=4))
        .build()
    )
    done: list[State] = []
    worker = threading.Thread(target=lambda: done.append(run(app)), daemon=True)
    worker.start()
    worker.join(timeout=30)
    assert done, "nested maps deadlocked"
    assert done[0]["results"] == [[1] * 8] * 8
