"""How a map picks and owns its executor (flowc.runtime.executors)."""

from __future__ import annotations

import gc
import multiprocessing
import threading
import time
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor

import pytest

from flowc.runtime.executors import (
    MultiThreadedExecutor,
    executor_width,
    is_thread_based,
    resolve_executor,
)


def test_multithreaded_executor_is_a_thread_pool_sized_by_max_concurrency() -> None:
    with MultiThreadedExecutor(max_concurrency=3) as pool:
        assert pool.max_concurrency == 3
        assert executor_width(pool) == 3
        assert is_thread_based(pool)
        assert pool.submit(lambda: 41 + 1).result() == 42


def test_multithreaded_executor_runs_max_concurrency_calls_at_once_and_no_more() -> None:
    barrier = threading.Barrier(6, timeout=10)
    running = peak = 0
    lock = threading.Lock()

    def meet() -> str:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        name = threading.current_thread().name
        barrier.wait()  # all six at once, or a BrokenBarrierError after 10 s
        time.sleep(0.01)
        with lock:
            running -= 1
        return name

    with MultiThreadedExecutor(max_concurrency=6, thread_name_prefix="fill") as pool:
        names = [f.result() for f in [pool.submit(meet) for _ in range(18)]]
    assert peak == 6
    assert len(set(names)) == 6 and all(name.startswith("fill_") for name in names)


def test_multithreaded_executor_refuses_work_after_shutdown_and_cancels_queued_calls() -> None:
    pool = MultiThreadedExecutor(max_concurrency=1)
    running, gate = threading.Event(), threading.Event()

    def hold() -> bool:
        running.set()
        return gate.wait(10)

    first = pool.submit(hold)
    queued = pool.submit(lambda: "never")
    assert running.wait(10)  # a call not yet started would be cancelled too
    pool.shutdown(wait=False, cancel_futures=True)
    gate.set()
    assert first.result() is True and queued.cancelled()
    with pytest.raises(RuntimeError, match="after shutdown"):
        pool.submit(print)


def test_a_collected_multithreaded_executor_stops_its_threads() -> None:
    pool = MultiThreadedExecutor(max_concurrency=4, thread_name_prefix="collected-pool")
    for future in [pool.submit(time.sleep, 0.01) for _ in range(8)]:
        future.result()

    def alive() -> list[str]:
        names = [thread.name for thread in threading.enumerate()]
        return [name for name in names if name.startswith("collected-pool")]

    assert alive()
    del pool, future
    gc.collect()
    deadline = time.monotonic() + 10
    while alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert alive() == []


def test_shutdown_with_wait_returns_once_running_calls_have_ended() -> None:
    ended = threading.Event()

    def slow() -> None:
        time.sleep(0.2)
        ended.set()

    pool = MultiThreadedExecutor(max_concurrency=2)
    pool.submit(slow)
    pool.shutdown(wait=True)
    assert ended.is_set()


def test_a_pool_thread_may_shut_its_own_pool_down_and_wait() -> None:
    pool = MultiThreadedExecutor(max_concurrency=2)
    companion = pool.submit(time.sleep, 0.1)
    future = pool.submit(pool.shutdown, wait=True)  # waits for the other thread, not itself
    assert future.result(timeout=10) is None and companion.done()


def test_pool_threads_inherit_the_threading_trace_function() -> None:
    """As ``threading.Thread`` does: coverage and profilers see the calls a pool runs."""
    seen: list[str] = []

    def branch_body() -> int:
        return 7

    def tracer(frame: object, event: str, arg: object) -> None:
        if event == "call":
            seen.append(frame.f_code.co_name)  # type: ignore[attr-defined]

    previous = threading.gettrace()
    threading.settrace(tracer)
    try:
        with MultiThreadedExecutor(max_concurrency=1) as pool:
            assert pool.submit(branch_body).result() == 7
    finally:
        threading.settrace(previous)  # type: ignore[arg-type]
    assert "branch_body" in seen


def test_a_forked_child_can_use_an_inherited_pool_and_exit() -> None:
    """The parent's pool threads do not exist in a forked child: the child's copy of the pool
    starts its own, and the child's exit does not wait for the parent's."""
    pool = MultiThreadedExecutor(max_concurrency=2)
    assert pool.submit(time.sleep, 0.01).result() is None  # the pool has a thread here
    context = multiprocessing.get_context("fork")
    results = context.SimpleQueue()

    def use_pool() -> None:
        results.put(pool.submit(lambda: 2).result(timeout=10))

    child = context.Process(target=use_pool)
    child.start()
    child.join(30)
    assert child.exitcode == 0 and results.get() == 2
    pool.shutdown()


def test_a_call_whose_thread_cannot_start_fails_to_submit_and_never_runs() -> None:
    """A new thread's stack that cannot be allocated makes the thread fail to start, for real."""
    ran: list[int] = []
    pool = MultiThreadedExecutor(max_concurrency=1)  # the failed thread must not count
    default = threading.stack_size()
    threading.stack_size(2**44)
    try:
        with pytest.raises(RuntimeError, match="can't start new thread"):
            pool.submit(ran.append, 1)
    finally:
        threading.stack_size(default)
    assert pool.submit(ran.append, 2).result(timeout=10) is None  # the pool still works
    pool.shutdown()
    assert ran == [2]


def test_multithreaded_executor_refuses_zero_concurrency() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        MultiThreadedExecutor(max_concurrency=0)


def test_an_instance_is_borrowed_and_never_shut_down() -> None:
    with ThreadPoolExecutor(max_workers=2) as pool:
        resolved = resolve_executor(None, pool)
        assert resolved.executor is pool and not resolved.owned and resolved.width == 2
        resolved.close()
        assert pool.submit(lambda: "still open").result() == "still open"


def test_a_factory_result_is_owned_and_shut_down_on_close() -> None:
    made: list[Executor] = []

    def factory() -> Executor:
        made.append(ThreadPoolExecutor(max_workers=1))
        return made[-1]

    resolved = resolve_executor(factory)
    assert resolved.owned and resolved.executor is made[0]
    resolved.close()
    with pytest.raises(RuntimeError):
        made[0].submit(print)


def test_first_choice_that_is_not_none_wins() -> None:
    with ThreadPoolExecutor(1) as first, ThreadPoolExecutor(2) as second:
        assert resolve_executor(None, first, second).executor is first


def test_no_choice_gives_an_owned_default_thread_pool() -> None:
    resolved = resolve_executor(None, None)
    assert resolved.owned and resolved.threaded
    assert isinstance(resolved.executor, MultiThreadedExecutor)
    resolved.close()


def test_a_process_pool_is_not_thread_based() -> None:
    pool = ProcessPoolExecutor(max_workers=1)
    try:
        resolved = resolve_executor(pool)
        assert not resolved.threaded and resolved.width == 1
    finally:
        pool.shutdown()


def test_something_that_is_neither_executor_nor_factory_is_refused() -> None:
    with pytest.raises(TypeError, match=r"concurrent\.futures\.Executor"):
        resolve_executor(42)  # type: ignore[arg-type]


def test_a_factory_returning_a_non_executor_is_refused() -> None:
    with pytest.raises(TypeError, match="returned int"):
        resolve_executor(lambda: 42)  # type: ignore[arg-type, return-value]
