"""Failure policies, retries, timeouts, first-k, streaming and concurrency caps of maps running
inside a real Application (the schedulers' own rules are in test_parallelism_scheduler.py)."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import AsyncGenerator, Generator
from typing import Any

import pytest
from held_branches import HeldBranches

from flowc.runtime import action
from flowc.runtime.application import ApplicationBuilder
from flowc.runtime.executors import MultiThreadedExecutor
from flowc.runtime.parallelism import (
    BranchFailedError,
    BranchFailure,
    BranchResult,
    BranchTimeoutError,
    FailurePolicy,
    FailureToleranceExceededError,
    MapOptions,
    MapStates,
    NotEnoughSuccessesError,
    Retry,
    StreamEnd,
    stream_branches,
)
from flowc.runtime.state import State


class Over(MapStates):
    """Maps ``branch`` over range(n); reduce keeps each branch's ``out`` (or the failure)."""

    branch: Any = None

    def action(self, state: State, inputs: dict[str, Any]) -> Any:
        return self.branch

    def states(self, state: State, context: Any, inputs: dict[str, Any]) -> Generator[State]:
        for i in range(state["n"]):
            yield state.update(i=i)

    def reduce(self, state: State, states: Generator[Any]) -> State:
        return state.update(
            results=[s if isinstance(s, BranchFailure) else s["out"] for s in states]
        )

    @property
    def reads(self) -> list[str]:
        return ["n"]

    @property
    def writes(self) -> list[str]:
        return ["results"]


def over(branch: Any, **options: Any) -> Over:
    return type("Mapped", (Over,), {"branch": branch, "options": MapOptions(**options)})()


def app_for(map_action: Any, workers: int = 8, **state: Any) -> Any:
    return (
        ApplicationBuilder()
        .with_action(fan_out=map_action)
        .with_entrypoint("fan_out")
        .with_state(**state)
        .with_parallel_executor(MultiThreadedExecutor(max_concurrency=workers))
        .build()
    )


def run(map_action: Any, **state: Any) -> State:
    return app_for(map_action, **state).run(halt_after=["fan_out"])[2]


@action(reads=["i"], writes=["out"])
def fails_on_odd(state: State) -> State:
    if state["i"] % 2:
        raise ValueError(f"odd {state['i']}")
    return state.update(out=state["i"])


# -- fail-fast (the default) --------------------------------------------------------------------


def test_fail_fast_surfaces_a_failure_among_1000_slow_branches_without_waiting_for_them() -> None:
    started: Counter[str] = Counter()
    with HeldBranches() as held:

        @action(reads=["i"], writes=["out"])
        def slow(state: State) -> State:
            started["branches"] += 1
            if state["i"] == 1:
                raise ValueError("branch one broke")
            held.hold()
            return state.update(out=state["i"])

        app = app_for(over(slow), n=1000)
        with pytest.raises(BranchFailedError) as caught:
            app.run(halt_after=["fan_out"])
        assert held.finished_on_pool == 0  # raised while the running branches were held
    assert started["branches"] < 100  # no new branch starts after the failure
    error = caught.value
    assert isinstance(error, ValueError) and error.code == "F520"
    assert (error.index, error.task_key, error.action_name) == (1, "0-1", "slow")
    assert "'i': 1" in str(error)  # the branch's item
    assert "results" not in app.state  # the parent state is unchanged


# -- tolerating failures ------------------------------------------------------------------------


def test_tolerated_failures_are_skipped_by_default() -> None:
    final = run(over(fails_on_odd, failure_policy=FailurePolicy.tolerate(3)), n=6)
    assert final["results"] == [0, 2, 4]


def test_included_failures_reach_reduce_as_typed_results_in_task_order() -> None:
    policy = FailurePolicy.tolerate_ratio(0.5, failed="include")
    results = run(over(fails_on_odd, failure_policy=policy), n=4)["results"]
    assert results[0] == 0 and results[2] == 2
    failure = results[1]
    assert isinstance(failure, BranchFailure) and not failure.ok
    assert (failure.index, failure.key, failure.action_name) == (1, "0-1", "fails_on_odd")
    assert isinstance(failure.error, ValueError) and failure.state["i"] == 1  # error and input


def test_one_failure_too_many_raises_f522_with_every_failure() -> None:
    with pytest.raises(FailureToleranceExceededError) as caught:
        run(over(fails_on_odd, failure_policy=FailurePolicy.tolerate(1), max_concurrency=1), n=6)
    assert caught.value.code == "F522" and len(caught.value.failures) == 2


# -- retries and timeouts -----------------------------------------------------------------------


def test_a_branch_is_retried_with_backoff_until_it_succeeds() -> None:
    attempts: Counter[int] = Counter()
    outcomes: list[Any] = []

    @action(reads=["i"], writes=["out"])
    def flaky(state: State) -> State:
        attempts[state["i"]] += 1
        if attempts[state["i"]] < 3:
            raise ConnectionError("try again")
        return state.update(out=state["i"])

    class Retried(Over):
        branch = flaky
        options = MapOptions(retry=Retry(attempts=3, base_delay=0.001, jitter=0.1))

        def on_branch_complete(self, outcome: Any) -> None:
            outcomes.append(outcome)

    assert run(Retried(), n=3)["results"] == [0, 1, 2]
    assert attempts == Counter({0: 3, 1: 3, 2: 3})
    assert all(isinstance(o, BranchResult) and o.attempts == 3 for o in outcomes)


def test_a_branch_past_its_timeout_fails_with_f521_without_waiting_for_it() -> None:
    with HeldBranches() as held:

        @action(reads=["i"], writes=["out"])
        def hangs_on_two(state: State) -> State:
            if state["i"] == 2:
                held.hold()
            return state.update(out=state["i"])

        with pytest.raises(BranchFailedError) as caught:
            run(over(hangs_on_two, timeout=0.2), n=4)
        assert held.finished_on_pool == 0
    assert isinstance(caught.value.__cause__, BranchTimeoutError)
    assert caught.value.__cause__.code == "F521"


# -- first-k ------------------------------------------------------------------------------------


def test_first_k_finishes_with_the_k_first_successes_in_task_order() -> None:
    with HeldBranches() as held:

        @action(reads=["i"], writes=["out"])
        def fast_on_multiples_of_five(state: State) -> State:
            if state["i"] % 5:
                held.hold()
            return state.update(out=state["i"])

        final = run(over(fast_on_multiples_of_five, first_k=2, max_concurrency=20), n=20)
        assert held.finished_on_pool == 0  # the slow ones were not waited for
    results = final["results"]
    assert len(results) == 2 and results == sorted(results) and set(results) <= {0, 5, 10, 15}


def test_first_k_with_too_few_successes_raises_f523() -> None:
    policy = FailurePolicy.tolerate(10)
    with pytest.raises(NotEnoughSuccessesError):
        run(over(fails_on_odd, first_k=4, failure_policy=policy), n=6)


# -- streaming ----------------------------------------------------------------------------------


def test_streaming_yields_successes_and_failures_as_they_complete() -> None:
    app = app_for(over(fails_on_odd, failure_policy=FailurePolicy.tolerate(5)), n=6)
    events = list(stream_branches(app, halt_after=["fan_out"]))
    *outcomes, end = events
    assert isinstance(end, StreamEnd) and end.state["results"] == [0, 2, 4]
    assert sorted(o.index for o in outcomes) == list(range(6))
    assert {o.index for o in outcomes if not o.ok} == {1, 3, 5}


def test_a_failing_stream_raises_after_the_outcomes_before_it() -> None:
    app = app_for(over(fails_on_odd, max_concurrency=1), n=4)
    seen: list[Any] = []
    with pytest.raises(BranchFailedError):
        for event in stream_branches(app, halt_after=["fan_out"]):
            seen.append(event)
    assert [o.index for o in seen] == [0, 1]


# -- concurrency caps on async branches ---------------------------------------------------------


def test_max_concurrency_bounds_async_branches() -> None:
    lock = threading.Lock()
    running = Counter[str]()

    @action(reads=["i"], writes=["out"])
    async def tracked(state: State) -> State:
        with lock:
            running["now"] += 1
            running["peak"] = max(running["peak"], running["now"])
        await asyncio.sleep(0.005)
        with lock:
            running["now"] -= 1
        return state.update(out=state["i"])

    class AsyncOver(Over):
        branch = tracked
        options = MapOptions(max_concurrency=3)

        def is_async(self) -> bool:
            return True

        async def states(self, state: State, context: Any, inputs: dict[str, Any]) -> Any:
            for i in range(state["n"]):
                yield state.update(i=i)

        async def reduce(self, state: State, states: AsyncGenerator[State]) -> State:
            return state.update(results=[sub["out"] async for sub in states])

    final = asyncio.run(app_for(AsyncOver(), n=15).arun(halt_after=["fan_out"]))[2]
    assert final["results"] == list(range(15))
    assert running["peak"] == 3
