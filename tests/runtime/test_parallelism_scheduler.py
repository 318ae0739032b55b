"""The branch schedulers on their own: order, look-ahead, policies, cancellation, deadlock.

Branches here are plain functions of an int, so these rules hold whatever a branch runs.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any

import pytest
from held_branches import HeldBranches

from flowc.runtime.executors import MultiThreadedExecutor, resolve_executor
from flowc.runtime.parallel.errors import (
    BranchFailedError,
    BranchTimeoutError,
    FailureToleranceExceededError,
    NotEnoughSuccessesError,
)
from flowc.runtime.parallel.options import FailurePolicy, MapOptions, Retry
from flowc.runtime.parallel.outcomes import BranchFailure
from flowc.runtime.parallel.scheduler import AsyncSchedule, Plan, PullSchedule, PushSchedule


def make_plan(run: Callable[[Any], Any], sink: Any = None, **options: Any) -> Plan:
    opts = MapOptions(**options)
    concurrency = opts.max_concurrency or 8
    return Plan(
        run_task=run,
        describe=lambda task: (str(task), "work"),
        input_state=lambda task: task,
        error_for=lambda failure, task: failure.to_error("fan_out", str(task)),
        options=opts,
        concurrency=concurrency,
        lookahead=opts.lookahead or max(64, 4 * concurrency),
        sink=sink,
    )


def pull(n: int, run: Callable[[Any], Any], pool: Any = None, **options: Any) -> list[Any]:
    executor = resolve_executor(pool or MultiThreadedExecutor(8))
    schedule = PullSchedule(iter(range(n)), make_plan(run, **options), executor)
    try:
        out = list(schedule)
        schedule.finish()
        return out
    finally:
        schedule.close()


def double(i: int) -> int:
    return 2 * i + 1


def test_results_come_in_task_order_whatever_order_branches_finish() -> None:
    def slow_first(i: int) -> int:
        time.sleep(0.002 * (10 - i % 10))
        return i

    assert pull(40, slow_first) == list(range(40))


def test_reduce_consumes_results_before_the_last_branch_has_started() -> None:
    started: list[int] = []

    def track(i: int) -> int:
        started.append(i)
        return i

    executor = resolve_executor(MultiThreadedExecutor(2))
    schedule = PullSchedule(iter(range(10_000)), make_plan(track, lookahead=16), executor)
    first = next(iter(schedule))
    assert first == 0
    assert len(started) < 10_000  # bounded look-ahead: not every task was claimed up front
    schedule.close()


def test_the_task_generator_is_pulled_lazily_with_bounded_lookahead() -> None:
    pulled = 0

    def tasks() -> Iterator[int]:
        nonlocal pulled
        for i in range(1000):
            pulled += 1
            yield i

    executor = resolve_executor(MultiThreadedExecutor(4))
    schedule = PullSchedule(tasks(), make_plan(double, lookahead=8), executor)
    iterator = iter(schedule)
    next(iterator)
    time.sleep(0.05)
    assert pulled <= 8 + 2  # never more than the look-ahead window beyond what reduce took
    schedule.close()


def test_concurrency_never_exceeds_max_concurrency() -> None:
    running = 0
    peak = 0
    lock = threading.Lock()

    def branch(i: int) -> int:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.005)
        with lock:
            running -= 1
        return i

    assert pull(60, branch, pool=MultiThreadedExecutor(16), max_concurrency=3) == list(range(60))
    assert 1 <= peak <= 3


def test_branches_that_block_get_max_concurrency_threads_at_once() -> None:
    barrier = threading.Barrier(6, timeout=10)

    def meet(i: int) -> int:
        if i < 6:
            barrier.wait()  # the first six must run at once, or this breaks after 10 s
        time.sleep(0.002)
        return i

    assert pull(24, meet, pool=MultiThreadedExecutor(6)) == list(range(24))


def test_fail_fast_raises_the_first_failure_without_waiting_for_running_branches() -> None:
    with HeldBranches() as held:

        def branch(i: int) -> int:
            if i == 1:
                raise ValueError("no good")
            held.hold()
            return i

        with pytest.raises(BranchFailedError) as caught:
            pull(1000, branch)
        assert held.finished_on_pool == 0  # raised while the other branches were still running
    error = caught.value
    assert error.code == "F520"
    assert error.index == 1 and error.task_key == "1" and error.action_name == "work"
    assert isinstance(error, ValueError)  # Burr lets the ValueError escape; it still does
    assert isinstance(error.__cause__, ValueError) and str(error.__cause__) == "no good"
    assert "branch 1" in str(error) and "fan_out" in str(error)


def test_fail_fast_does_not_start_branches_after_the_failure() -> None:
    started: list[int] = []

    def branch(i: int) -> int:
        started.append(i)
        if i == 0:
            raise RuntimeError("first")
        time.sleep(0.01)
        return i

    with pytest.raises(BranchFailedError):
        pull(500, branch, pool=MultiThreadedExecutor(4))
    time.sleep(0.05)
    assert len(started) < 20


def test_tolerated_failures_are_skipped_by_default() -> None:
    def branch(i: int) -> int:
        if i % 4 == 0:
            raise KeyError(i)
        return i

    out = pull(12, branch, failure_policy=FailurePolicy.tolerate(3))
    assert out == [1, 2, 3, 5, 6, 7, 9, 10, 11]


def test_included_failures_reach_reduce_in_their_position_with_error_and_input() -> None:
    def branch(i: int) -> int:
        if i == 2:
            raise ZeroDivisionError("x")
        return i

    out = pull(4, branch, failure_policy=FailurePolicy.tolerate(1, failed="include"))
    assert out[:2] == [0, 1] and out[3] == 3
    failure = out[2]
    assert isinstance(failure, BranchFailure) and not failure.ok
    assert (
        isinstance(failure.error, ZeroDivisionError) and failure.state == 2 and failure.index == 2
    )


def test_more_failures_than_tolerated_raise_f522_with_every_failure() -> None:
    def branch(i: int) -> int:
        raise ValueError(f"bad {i}")

    with pytest.raises(FailureToleranceExceededError) as caught:
        pull(10, branch, pool=MultiThreadedExecutor(1), failure_policy=FailurePolicy.tolerate(2))
    assert caught.value.code == "F522"
    assert len(caught.value.failures) == 3
    assert isinstance(caught.value.__cause__, ValueError)


def test_a_failure_ratio_is_judged_over_all_branches() -> None:
    def branch(i: int) -> int:
        if i < 2:
            raise ValueError(i)
        return i

    policy = FailurePolicy.tolerate_ratio(0.25)
    assert pull(10, branch, failure_policy=policy) == list(range(2, 10))
    with pytest.raises(FailureToleranceExceededError, match="of 4 branches failed"):
        pull(4, branch, failure_policy=policy)


def test_retries_rerun_a_failing_branch_with_backoff() -> None:
    attempts: dict[int, int] = {}
    lock = threading.Lock()

    def flaky(i: int) -> int:
        with lock:
            attempts[i] = attempts.get(i, 0) + 1
            if attempts[i] < 3:
                raise ConnectionError("try again")
        return i

    retry = Retry(attempts=3, base_delay=0.001, jitter=0.1)
    assert pull(5, flaky, retry=retry) == list(range(5))
    assert all(count == 3 for count in attempts.values())


def test_retries_give_up_after_the_last_attempt_and_report_the_count() -> None:
    def always(i: int) -> int:
        raise ConnectionError("down")

    with pytest.raises(BranchFailedError, match="after 2 attempt"):
        pull(1, always, retry=Retry(attempts=2, base_delay=0.001))


def test_retry_delays_grow_exponentially_with_bounded_jitter() -> None:
    retry = Retry(attempts=5, base_delay=0.1, factor=2.0, max_delay=0.3, jitter=0.5)
    delays = [retry.delay(n) for n in (1, 2, 3, 4)]
    assert 0.1 <= delays[0] <= 0.15 and 0.2 <= delays[1] <= 0.3
    assert all(0.3 <= d <= 0.45 for d in delays[2:])


def test_retry_only_retries_the_listed_exceptions() -> None:
    calls = 0

    def wrong_type(i: int) -> int:
        nonlocal calls
        calls += 1
        raise TypeError("not retried")

    with pytest.raises(BranchFailedError):
        pull(1, wrong_type, retry=Retry(attempts=5, base_delay=0, retry_on=(ConnectionError,)))
    assert calls == 1


def test_a_branch_past_its_timeout_fails_with_f521_without_waiting_for_it() -> None:
    with HeldBranches() as held:

        def branch(i: int) -> int:
            if i == 1:
                held.hold()
            return i

        with pytest.raises(BranchFailedError) as caught:
            pull(3, branch, timeout=0.1)
        assert held.finished_on_pool == 0
    assert isinstance(caught.value.__cause__, BranchTimeoutError)
    assert caught.value.__cause__.code == "F521"


def test_first_k_finishes_when_k_branches_succeeded_and_keeps_task_order() -> None:
    with HeldBranches() as held:

        def branch(i: int) -> int:
            if i in (0, 1):
                held.hold()
            return i

        out = pull(6, branch, pool=MultiThreadedExecutor(6), first_k=2)
        assert held.finished_on_pool == 0  # did not wait for the slow branches
    assert len(out) == 2 and out == sorted(out) and not {0, 1} & set(out)


def test_a_race_of_short_branches_does_not_wait_for_a_slow_loser() -> None:
    """Short branches would have the map's own thread run them; in a race that thread must stay
    free, or a slow loser it picked up holds the decided race until it ends."""

    with HeldBranches() as held:

        def branch(i: int) -> int:
            if i == 40:
                held.hold()
            return i

        out = pull(80, branch, pool=MultiThreadedExecutor(4), first_k=60)
        assert held.finished_on_pool == 0 and held.held_by_caller == 0
    assert len(out) == 60 and 40 not in out


class SlowToStartPool(ThreadPoolExecutor):
    """A real pool whose threads take a few milliseconds to pick up their first work, as a fresh
    pool's do on a busy machine."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        def late() -> Any:
            time.sleep(0.005)
            return fn(*args, **kwargs)

        return super().submit(late)


@pytest.mark.parametrize("supervision", [{"timeout": 5.0}, {"first_k": 20}])
def test_a_supervised_map_does_not_run_branches_on_its_own_thread_while_its_pool_starts(
    supervision: dict[str, Any],
) -> None:
    """A branch the map's own thread runs could be neither timed out nor left behind by a
    decided race; it waits for a pool that is merely slow to start its threads."""
    ran_on: set[int] = set()

    def branch(i: int) -> int:
        ran_on.add(threading.get_ident())
        return i

    with SlowToStartPool(4) as pool:
        assert pull(20, branch, pool=pool, **supervision) == list(range(20))
    assert threading.get_ident() not in ran_on


@pytest.mark.parametrize("supervision", [{"timeout": 0.1}, {"first_k": 2}])
def test_a_supervised_map_on_a_saturated_pool_still_times_out_or_leaves_a_slow_branch(
    supervision: dict[str, Any],
) -> None:
    """The pool's only thread is busy for the whole map, so the map's thread must help; a branch
    it ran itself would hold the map until the branch ended. It starts a thread per branch."""
    busy = threading.Event()
    with ThreadPoolExecutor(1) as pool, HeldBranches() as held:
        pool.submit(busy.wait, 30)

        def branch(i: int) -> int:
            if i == 0:
                held.hold()
            return i

        try:
            if "timeout" in supervision:
                with pytest.raises(BranchFailedError) as caught:
                    pull(3, branch, pool=pool, **supervision)
                assert isinstance(caught.value.__cause__, BranchTimeoutError)
            else:
                assert pull(3, branch, pool=pool, **supervision) == [1, 2]
            assert held.held_by_caller == 0
            assert held.finished_on_pool == 0  # the map did not wait for the held branch
        finally:
            busy.set()


def test_an_unsupervised_map_runs_short_branches_on_its_own_thread_while_its_pool_starts() -> None:
    ran_on: set[int] = set()

    def branch(i: int) -> int:
        ran_on.add(threading.get_ident())
        return i

    with SlowToStartPool(4) as pool:
        assert pull(20, branch, pool=pool) == list(range(20))
    assert threading.get_ident() in ran_on


def test_first_k_with_too_few_successes_raises_f523() -> None:
    def branch(i: int) -> int:
        if i:
            raise ValueError(i)
        return i

    with pytest.raises(NotEnoughSuccessesError):
        pull(3, branch, first_k=2, failure_policy=FailurePolicy.tolerate(5))


def test_nested_maps_on_a_small_shared_pool_never_deadlock() -> None:
    pool = MultiThreadedExecutor(max_concurrency=4)

    def inner(i: int) -> int:
        return sum(pull(8, lambda j: (time.sleep(0.002), j)[1], pool=pool))

    done = threading.Event()
    result: list[Any] = []

    def outer() -> None:
        result.extend(pull(8, inner, pool=pool))
        done.set()

    threading.Thread(target=outer, daemon=True).start()
    assert done.wait(timeout=20), "nested maps deadlocked"
    assert result == [28] * 8


def test_the_sink_sees_every_outcome_in_completion_order() -> None:
    seen: list[int] = []
    lock = threading.Lock()

    def sink(outcome: Any) -> None:
        with lock:
            seen.append(outcome.index)

    def branch(i: int) -> int:
        time.sleep(0.04 if i == 0 else 0.001)
        return i

    executor = resolve_executor(MultiThreadedExecutor(4))
    schedule = PullSchedule(iter(range(5)), make_plan(branch, sink=sink), executor)
    assert list(schedule) == [0, 1, 2, 3, 4]
    schedule.finish()
    assert sorted(seen) == [0, 1, 2, 3, 4] and seen[-1] == 0


def test_an_error_in_the_task_generator_is_raised_as_is() -> None:
    def tasks() -> Iterator[int]:
        yield 1
        raise LookupError("generator broke")

    executor = resolve_executor(MultiThreadedExecutor(2))
    schedule = PullSchedule(tasks(), make_plan(double), executor)
    with pytest.raises(LookupError, match="generator broke"):
        list(schedule)


def test_push_schedule_runs_branches_in_other_processes_in_task_order() -> None:
    pool = ProcessPoolExecutor(max_workers=2)
    try:
        resolved = resolve_executor(pool)
        schedule = PushSchedule(iter(range(20)), make_plan(double, max_concurrency=3), resolved)
        assert list(schedule) == [2 * i + 1 for i in range(20)]
        schedule.finish()
    finally:
        pool.shutdown()


def test_async_schedule_bounds_concurrency_and_keeps_order() -> None:
    running = 0
    peak = 0

    async def branch(i: int) -> int:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.001 * (5 - i % 5))
        running -= 1
        return i

    async def main() -> list[int]:
        schedule = AsyncSchedule(iter(range(30)), make_plan(None, max_concurrency=4), branch)
        out = [s async for s in schedule.states()]
        await schedule.finish()
        return out

    assert asyncio.run(main()) == list(range(30))
    assert peak == 4


def test_async_fail_fast_cancels_running_branches() -> None:
    cancelled = 0

    async def branch(i: int) -> int:
        nonlocal cancelled
        if i == 0:
            raise ValueError("first")
        try:
            await asyncio.sleep(30)  # uncancelled, the run would end only then, with none counted
        except asyncio.CancelledError:
            cancelled += 1
            raise
        return i

    async def main() -> None:
        schedule = AsyncSchedule(iter(range(10)), make_plan(None, max_concurrency=5), branch)
        async for _ in schedule.states():
            pass

    with pytest.raises(BranchFailedError):
        asyncio.run(main())
    assert cancelled == 4


def test_async_timeout_cancels_the_branch() -> None:
    async def branch(i: int) -> int:
        await asyncio.sleep(5 if i == 1 else 0)
        return i

    async def main() -> list[Any]:
        policy = FailurePolicy.tolerate(1, failed="include")
        schedule = AsyncSchedule(
            iter(range(3)), make_plan(None, timeout=0.05, failure_policy=policy), branch
        )
        return [s async for s in schedule.states()]

    out = asyncio.run(main())
    assert out[0] == 0 and out[2] == 2 and isinstance(out[1].error, BranchTimeoutError)


def test_a_shut_down_thread_pool_leaves_the_caller_to_run_every_branch() -> None:
    pool = MultiThreadedExecutor(max_concurrency=4)
    pool.shutdown()
    done = threading.Event()
    result: list[Any] = []

    def run() -> None:
        result.extend(pull(20, double, pool=pool))
        done.set()

    threading.Thread(target=run, daemon=True).start()
    assert done.wait(timeout=10), "the map waited for worker loops the pool refused to run"
    assert result == [double(i) for i in range(20)]
