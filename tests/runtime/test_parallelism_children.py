"""Branches as child applications of a real parent: typed state, task order, child ids across
a failure and resume (real SQLite files), links to the parent, and which executor runs them."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest
from over_range import OverRange
from pydantic import BaseModel

from flowc.runtime import action, when
from flowc.runtime.application import ApplicationBuilder, ParentPointer
from flowc.runtime.executors import MultiThreadedExecutor
from flowc.runtime.graph import GraphBuilder
from flowc.runtime.parallel import child
from flowc.runtime.parallel.tasks import ParentRun, SubGraphTask
from flowc.runtime.parallelism import (
    BranchFailedError,
    BranchResult,
    MapActionsAndStates,
    MapOptions,
    RunnableGraph,
)
from flowc.runtime.persistence import SQLitePersister
from flowc.runtime.state import State, StateTypeError

Over = OverRange


def over(branch: Any, field: str = "out", **options: Any) -> Over:
    cls = type("Mapped", (Over,), {"branch": branch, "field": field})
    if options:
        cls.options = MapOptions(**options)
    return cls()


def run_map(map_action: Any, builder: Any = None, **state: Any) -> State:
    app = (
        (builder or ApplicationBuilder())
        .with_action(fan_out=map_action)
        .with_entrypoint("fan_out")
        .with_state(**state)
        .build()
    )
    return app.run(halt_after=["fan_out"])[2]


# -- typed state across fan-out and reduce ------------------------------------------------------


class Doc(BaseModel):
    n: int = 0
    i: int = 0
    out: int = 0
    results: list[int] = []


class Recorder:
    """A tracker: records every application it sees created, and each copy records into the
    same list (copies are what children get when the tracker cascades)."""

    def __init__(self, created: list[dict[str, Any]] | None = None) -> None:
        self.created = created if created is not None else []

    def copy(self) -> Recorder:
        return Recorder(self.created)

    def post_application_create(self, **kwargs: Any) -> None:
        self.created.append(kwargs)


@pytest.mark.parametrize("path", ["cheap", "child applications"])
def test_typed_state_keeps_its_schema_in_every_branch_and_after_reduce(path: str) -> None:
    schemas: list[Any] = []

    @action(reads=["i"], writes=["out"])
    def square(state: State) -> State:
        schemas.append(state.schema)
        return state.update(out=state["i"] ** 2)

    builder = ApplicationBuilder()
    if path == "child applications":
        builder = builder.with_tracker(Recorder())
    app = (
        builder.with_action(fan_out=over(square))
        .with_entrypoint("fan_out")
        .with_state(Doc(n=4))
        .build()
    )
    final = app.run(halt_after=["fan_out"])[2]
    assert final["results"] == [0, 1, 4, 9]
    assert final.schema is Doc and schemas == [Doc] * 4


def test_a_branch_writing_the_wrong_type_fails_naming_the_field() -> None:
    @action(reads=["i"], writes=["out"])
    def wrong(state: State) -> State:
        return state.update(out=f"#{state['i']}")

    app = ApplicationBuilder().with_action(fan_out=over(wrong)).with_entrypoint("fan_out")
    with pytest.raises(BranchFailedError) as caught:
        app.with_state(Doc(n=2)).build().run(halt_after=["fan_out"])
    assert isinstance(caught.value, TypeError)  # the branch's TypeError stays catchable
    assert isinstance(caught.value.__cause__, StateTypeError)
    assert "'out'" in str(caught.value.__cause__)


def test_the_map_actions_own_writes_are_validated_by_the_step_loop() -> None:
    class BadReduce(Over):
        branch = action(reads=["i"], writes=["out"])(lambda state: state.update(out=1))

        def reduce(self, state: State, states: Generator[State]) -> State:
            return state.update(results=[str(sub["out"]) for sub in states])

    app = ApplicationBuilder().with_action(fan_out=BadReduce()).with_entrypoint("fan_out")
    with pytest.raises(StateTypeError, match="results"):
        app.with_state(Doc(n=2)).build().run(halt_after=["fan_out"])


# -- task order ---------------------------------------------------------------------------------


@action(reads=["i", "n"], writes=["out"])
def later_ones_finish_first(state: State) -> State:
    time.sleep(0.004 * (state["n"] - state["i"]))
    return state.update(out=state["i"])


def test_reduce_gets_task_order_whatever_order_branches_finish() -> None:
    finished: list[int] = []

    class Watched(Over):
        branch = later_ones_finish_first

        def on_branch_complete(self, outcome: BranchResult) -> None:
            finished.append(outcome.index)

    pool = MultiThreadedExecutor(max_concurrency=8)
    final = run_map(Watched(), ApplicationBuilder().with_parallel_executor(pool), n=8)
    assert final["results"] == list(range(8))
    assert finished != sorted(finished)  # they really finished out of order


@action(reads=["i", "n"], writes=["out"])
def tagged(state: State, tag: str) -> State:
    time.sleep(0.003 * (state["n"] - state["i"]))
    return state.update(out=f"{tag}{state['i']}")


class Product(MapActionsAndStates):
    def actions(self, state: State, context: Any, inputs: dict[str, Any]) -> Generator[Any]:
        for tag in ("a", "b"):
            yield tagged.bind(tag=tag).with_name(f"tag_{tag}")

    def states(self, state: State, context: Any, inputs: dict[str, Any]) -> Generator[State]:
        for i in range(state["n"]):
            yield state.update(i=i)

    def reduce(self, state: State, states: Generator[State]) -> State:
        return state.update(results=[sub["out"] for sub in states])

    @property
    def reads(self) -> list[str]:
        return ["n"]

    @property
    def writes(self) -> list[str]:
        return ["results"]


def test_the_product_is_reduced_action_major() -> None:
    pool = MultiThreadedExecutor(max_concurrency=6)
    final = run_map(Product(), ApplicationBuilder().with_parallel_executor(pool), n=3)
    assert final["results"] == ["a0", "a1", "a2", "b0", "b1", "b2"]


# -- child ids across a failure and resume, with a real SQLite persister ------------------------


class CountingPersister(SQLitePersister):
    """A real SQLitePersister that counts the copies made for children."""

    copies: Counter[str]

    def copy(self) -> SQLitePersister:
        self.copies["copy"] += 1
        return super().copy()


@pytest.fixture
def persister(tmp_path: Path) -> CountingPersister:
    store = CountingPersister(str(tmp_path / "runs.db"))
    store.copies = Counter()
    store.initialize()
    return store


def resumable_map(persister: Any, map_action: Any, n: int) -> Any:
    """An application running ``map_action`` over ``n`` states, saved to and resumed from
    ``persister`` as app ``parent``."""
    return (
        ApplicationBuilder()
        .with_action(fan_out=map_action)
        .with_state_persister(persister)
        .initialize_from(
            persister,
            resume_at_next_action=True,
            default_state={"n": n},
            default_entrypoint="fan_out",
        )
        .with_identifiers(app_id="parent")
        .build()
    )


def test_a_resumed_map_reuses_child_ids_and_skips_children_already_saved(
    persister: CountingPersister,
) -> None:
    ran: Counter[int] = Counter()
    ids: dict[int, set[str]] = {}

    @action(reads=["i"], writes=["out"])
    def flaky(state: State, __context: Any) -> State:
        i = state["i"]
        ran[i] += 1
        ids.setdefault(i, set()).add(__context.app_id)
        if i == 3 and ran[3] == 1:
            raise RuntimeError("branch 3 fails the first time")
        return state.update(out=10 * i)

    def resumable() -> Any:
        return resumable_map(persister, over(flaky, max_concurrency=1), n=5)

    with pytest.raises(BranchFailedError, match="branch 3"):
        resumable().run(halt_after=["fan_out"])
    assert dict(ran) == {0: 1, 1: 1, 2: 1, 3: 1}  # one at a time: 4 never started
    final = resumable().run(halt_after=["fan_out"])[2]
    assert final["results"] == [0, 10, 20, 30, 40]
    assert dict(ran) == {0: 1, 1: 1, 2: 1, 3: 2, 4: 1}  # saved children were not rerun
    assert all(len(seen) == 1 for seen in ids.values())  # branch 3 kept its id on resume
    children = {next(iter(seen)) for seen in ids.values()}
    stored = set(persister.list_app_ids(persister.PARTITION_KEY_DEFAULT))
    assert len(children) == 5 and children <= stored
    # persister and loader are one object: each child got one copy for both (9 children built)
    assert persister.copies["copy"] == 4 + 5


def test_every_branch_of_a_map_gets_the_one_copy_a_sqlite_persister_shares(
    tmp_path: Path,
) -> None:
    """SQLitePersister.copy() returns one object for all children, so the map asks once per
    invocation; a subclass overriding copy() is asked per child (the test above)."""
    seen: list[Any] = []

    @action(reads=["i"], writes=["out"])
    def remember(state: State, __context: Any) -> State:
        seen.append((__context.state_persister, __context.state_initializer))
        return state.update(out=state["i"])

    persister = SQLitePersister(str(tmp_path / "runs.db"))
    assert persister.shares_copies
    assert not CountingPersister(str(tmp_path / "other.db")).shares_copies
    final = resumable_map(persister, over(remember), n=20).run(halt_after=["fan_out"])[2]
    assert final["results"] == list(range(20))
    assert set(seen) == {(persister.copy(), persister.copy())}
    assert len(persister.list_app_ids("")) == 21


def test_a_resumed_subgraph_branch_retries_its_failed_step_and_keeps_its_finished_ones(
    persister: CountingPersister,
) -> None:
    ran: Counter[tuple[str, int]] = Counter()

    @action(reads=["i"], writes=["a"])
    def first(state: State) -> State:
        ran["first", state["i"]] += 1
        return state.update(a=state["i"] + 1)

    @action(reads=["a"], writes=["out"])
    def second(state: State) -> State:
        ran["second", state["i"]] += 1
        if state["i"] == 1 and ran["second", 1] == 1:
            raise RuntimeError("branch 1's second step fails the first time")
        return state.update(out=10 * state["a"])

    subgraph = (
        GraphBuilder()
        .with_actions(first=first, second=second)
        .with_transitions(("first", "second"))
        .build()
    )

    def resumable() -> Any:
        # one branch at a time, so branch 0 has finished when branch 1 fails (with more at once
        # it may still be running then: in flight, and rightly run again on resume)
        graph = RunnableGraph(subgraph, "first", ["second"])
        return resumable_map(persister, over(graph, max_concurrency=1), n=3)

    with pytest.raises(BranchFailedError, match="branch 1"):
        resumable().run(halt_after=["fan_out"])
    assert resumable().run(halt_after=["fan_out"])[2]["results"] == [10, 20, 30]
    assert ran["first", 1] == 1 and ran["second", 1] == 2  # resumed at the failed step
    assert ran["first", 0] == ran["second", 0] == 1  # a finished branch is not run again


def saved_rows(db: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as connection:
        return connection.execute(
            "SELECT partition_key, app_id, sequence_id, position, status, state FROM burr_state"
            " WHERE app_id != 'parent' ORDER BY app_id, sequence_id"
        ).fetchall()


def rows_saved_both_ways(
    tmp_path: Path, branch: Any, fails: bool
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The children's rows of a persisted map of ``branch`` over 3 states, one branch at a
    time: run as flowc runs them, and as child applications (a tracker forces those)."""

    def rows_with(tracker: Any, name: str) -> list[tuple[Any, ...]]:
        store = SQLitePersister(str(tmp_path / name))
        store.initialize()
        builder = ApplicationBuilder().with_state_persister(store).with_identifiers(app_id="parent")
        if tracker is not None:
            builder = builder.with_tracker(tracker)
        mapped = over(branch, max_concurrency=1)
        if fails:
            with pytest.raises(BranchFailedError):
                run_map(mapped, builder, n=3)
        else:
            run_map(mapped, builder, n=3)
        store.cleanup()
        return saved_rows(tmp_path / name)

    return rows_with(None, "direct.db"), rows_with(Recorder(), "apps.db")


@pytest.mark.parametrize("fails", [False, True])
def test_persisted_one_action_branches_save_the_rows_a_child_application_would(
    tmp_path: Path, fails: bool
) -> None:
    @action(reads=["i"], writes=["out"])
    def maybe_fails(state: State) -> State:
        if fails and state["i"] == 1:
            raise ValueError("one fails")
        return state.update(out=10 * state["i"])

    direct, through_applications = rows_saved_both_ways(tmp_path, maybe_fails, fails)
    assert direct == through_applications
    assert len(direct) == (2 if fails else 3)
    assert {row[4] for row in direct} == ({"completed", "failed"} if fails else {"completed"})


@pytest.mark.parametrize("fails", [False, True])
def test_persisted_subgraph_branches_save_the_rows_a_child_application_would(
    tmp_path: Path, fails: bool
) -> None:
    """One row per step, numbered from 0; a failed step's row holds the state before it."""

    @action(reads=["i"], writes=["a"])
    def first(state: State) -> State:
        return state.update(a=state["i"] + 1)

    @action(reads=["a"], writes=["b"])
    def middle(state: State) -> State:
        if fails and state["i"] == 1:
            raise ValueError("the middle step of branch 1 fails")
        return state.update(b=2 * state["a"])

    @action(reads=["a"], writes=["b"])
    def odd(state: State) -> State:
        return state.update(b=-state["a"])

    @action(reads=["b"], writes=["out"])
    def last(state: State) -> State:
        return state.update(out=state["b"] - 1)

    subgraph = (
        GraphBuilder()
        .with_actions(first=first, middle=middle, odd=odd, last=last)
        .with_transitions(
            ("first", "odd", when(i=2)),
            ("first", "middle"),
            ("middle", "last"),
            ("odd", "last"),
        )
        .build()
    )
    branch = RunnableGraph(subgraph, "first", ["last"])

    direct, through_applications = rows_saved_both_ways(tmp_path, branch, fails)
    assert direct == through_applications
    steps = [(row[2], row[3], row[4]) for row in direct]
    if fails:  # branch 0 ran its three steps; branch 1 failed in its second; 2 never started
        assert steps == [
            (0, "first", "completed"),
            (1, "middle", "completed"),
            (2, "last", "completed"),
            (0, "first", "completed"),
            (1, "middle", "failed"),
        ]
        assert json.loads(direct[-1][5]) == {"n": 3, "i": 1, "a": 2}
    else:
        assert [step[1] for step in steps] == ["first", "middle", "last"] * 2 + [
            "first",
            "odd",
            "last",
        ]
        assert [json.loads(row[5])["out"] for row in direct if row[3] == "last"] == [1, 3, -4]


class SaysIfAsync:
    """A persister that says whether it is async (counting the questions) and keeps its rows."""

    def __init__(self, is_async: bool) -> None:
        self.answer, self.asked, self.rows = is_async, 0, []

    def is_async(self) -> bool:
        self.asked += 1
        return self.answer

    def save(self, *row: Any) -> None:
        self.rows.append(row)


def test_a_persister_is_asked_if_it_is_async_when_the_branches_persister_changes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Branches sharing a synchronous persister take the saved path after one question; a
    branch with an async persister among them still takes the full path."""
    full: list[str | None] = []

    def run_full(parent: ParentRun, task: SubGraphTask) -> State:
        full.append(task.key)
        return task.state

    monkeypatch.setattr(child, "_run_full", run_full)

    @action(reads=["i"], writes=["out"])
    def double(state: State) -> State:
        return state.update(out=2 * state["i"])

    sync, not_sync = SaysIfAsync(False), SaysIfAsync(True)
    runner = child.BranchRunner(ParentRun("parent", None, 0, "fan_out"))
    savers = [sync, sync, not_sync, sync, not_sync, sync]
    for i, saver in enumerate(savers):
        runner.run(
            SubGraphTask(graph=double, state=State({"i": i}), state_persister=saver, key=str(i))
        )
    assert full == ["2", "4"]
    assert [row[2:] for row in sync.rows] == [
        (0, "double", State({"i": i, "out": 2 * i}), "completed") for i in (0, 1, 3, 5)
    ]
    assert (sync.asked, not_sync.asked) == (1, 2)


CRASH_APP = Path(__file__).parent / "parallelism_crash_app.py"


def test_child_ids_survive_a_sigkill_and_resume(tmp_path: Path) -> None:
    command = [sys.executable, str(CRASH_APP), str(tmp_path / "runs.db"), str(tmp_path / "ids")]
    crashed = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    resumed = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout) == [0, 10, 20, 30, 40, 50]
    ids: dict[str, set[str]] = {}
    runs: Counter[str] = Counter()
    for line in (tmp_path / "ids").read_text().splitlines():
        index, app_id = line.split()
        ids.setdefault(index, set()).add(app_id)
        runs[index] += 1
    assert runs["3"] == 2 and runs["4"] == runs["5"] == 1  # 3 was killed, then rerun
    assert all(len(seen) == 1 for seen in ids.values())  # whatever ran twice kept its id
    assert len(set().union(*ids.values())) == 6


def test_repeated_invocations_of_a_persisted_map_get_distinct_child_ids(
    persister: CountingPersister,
) -> None:
    @action(reads=["i"], writes=["out"])
    def echo(state: State) -> State:
        return state.update(out=state["i"])

    @action(reads=["rounds"], writes=["rounds"])
    def again(state: State) -> State:
        return state.update(rounds=state["rounds"] + 1)

    app = (
        ApplicationBuilder()
        .with_action(fan_out=over(echo), again=again)
        .with_transitions(("fan_out", "again"), ("again", "fan_out"))
        .with_entrypoint("fan_out")
        .with_state(n=3, rounds=0)
        .with_state_persister(persister)
        .with_identifiers(app_id="looping")
        .build()
    )
    for _ in range(3):
        app.run(halt_after=["again"])
    stored = set(persister.list_app_ids(persister.PARTITION_KEY_DEFAULT)) - {"looping"}
    assert len(stored) == 9  # 3 rounds x 3 branches, none overwriting another


# -- links to the parent ------------------------------------------------------------------------


@action(reads=["i"], writes=["out"])
def note_id(state: State, __context: Any) -> State:
    return state.update(out=(__context.app_id, __context.parent))


@action(reads=[], writes=["n"])
def start(state: State) -> State:
    return state.update(n=3)


def test_children_are_created_pointing_at_the_parents_app_step_and_partition() -> None:
    tracker = Recorder()
    app = (
        ApplicationBuilder()
        .with_action(start=start, fan_out=over(note_id))
        .with_transitions(("start", "fan_out"))
        .with_entrypoint("start")
        .with_tracker(tracker)
        .with_identifiers(app_id="parent", partition_key="user-7")
        .build()
    )
    final = app.run(halt_after=["fan_out"])[2]
    children = [c for c in tracker.created if c["app_id"] != "parent"]
    pointer = ParentPointer("parent", 1, "user-7")  # the map ran as step 1 of the parent
    assert len(children) == 3
    assert all(c["spawning_parent_pointer"] == pointer for c in children)
    assert all(c["partition_key"] == "user-7" for c in children)
    assert {c["app_id"] for c in children} == {app_id for app_id, _ in final["results"]}
    assert {parent for _, parent in final["results"]} == {pointer}


def test_cheap_children_see_the_same_parent_pointer() -> None:
    app = (
        ApplicationBuilder()
        .with_action(start=start, fan_out=over(note_id))
        .with_transitions(("start", "fan_out"))
        .with_entrypoint("start")
        .with_identifiers(app_id="parent", partition_key="user-7")
        .build()
    )
    final = app.run(halt_after=["fan_out"])[2]
    assert {parent for _, parent in final["results"]} == {ParentPointer("parent", 1, "user-7")}


# -- executors ----------------------------------------------------------------------------------


@action(reads=["i"], writes=["out"])
def thread_name(state: State) -> State:
    time.sleep(0.002)
    return state.update(out=threading.current_thread().name)


def test_a_per_action_executor_runs_the_branches() -> None:
    class OwnPool(Over):
        branch = thread_name

        def executor(self) -> Any:
            return MultiThreadedExecutor(max_concurrency=3, thread_name_prefix="own-pool")

    app_pool = MultiThreadedExecutor(max_concurrency=3, thread_name_prefix="app-pool")
    final = run_map(OwnPool(), ApplicationBuilder().with_parallel_executor(app_pool), n=12)
    names = set(final["results"])
    assert any(name.startswith("own-pool") for name in names)
    assert all(name.startswith("own-pool") or name == "MainThread" for name in names)


def test_nested_maps_inherit_the_parents_executor() -> None:
    class Inner(Over):
        branch = thread_name

        def states(self, state: State, context: Any, inputs: dict[str, Any]) -> Generator:
            for i in range(4):
                yield state.update(i=i)

    inner = RunnableGraph(GraphBuilder().with_action(inner=Inner()).build(), "inner", "inner")
    pool = MultiThreadedExecutor(max_concurrency=3, thread_name_prefix="app-pool")
    final = run_map(
        over(inner, field="results"), ApplicationBuilder().with_parallel_executor(pool), n=4
    )
    names = {name for inner_names in final["results"] for name in inner_names}
    assert all(name.startswith("app-pool") or name == "MainThread" for name in names)


def test_child_applications_get_the_parents_executor() -> None:
    @action(reads=["i"], writes=["out"])
    def executor_seen(state: State, __context: Any) -> State:
        return state.update(out=__context.parallel_executor)

    pool = MultiThreadedExecutor(max_concurrency=2)
    builder = ApplicationBuilder().with_parallel_executor(pool).with_tracker(Recorder())
    assert run_map(over(executor_seen), builder, n=3)["results"] == [pool] * 3
