"""Executors for parallel actions, and how a map picks one.

Any ``concurrent.futures.Executor`` is accepted wherever an executor is. Two kinds are told
apart, because they are scheduled differently (see ``flowc.runtime.parallel.scheduler``):

- *thread-based* executors (``ThreadPoolExecutor`` and its subclasses, such as
  ``MultiThreadedExecutor``) share memory with the caller, so a map hands them a few long-lived
  "worker loops" that pull branches from a shared cursor — no future per branch;
- every other executor (a process pool, Dask's ``Client.get_executor()``) gets one submitted
  future per branch, with a bounded window of them in flight.

Where the choice comes from, first match wins: the map's ``executor()`` method, its
``MapOptions.executor``, the application's ``with_parallel_executor(...)`` (an instance or a
zero-argument factory), and finally a default thread pool made for the one map invocation.
An instance is never shut down by flowc; anything flowc created (from a factory or the default)
is shut down when the map invocation ends.
"""

from __future__ import annotations

import _thread
import atexit
import os
import queue
import sys
import threading
import weakref
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

ExecutorChoice = Executor | Callable[[], Executor] | None

DEFAULT_MAX_CONCURRENCY = min(32, (os.cpu_count() or 1) + 4)


class _Work:
    """One submitted call and its future."""

    __slots__ = ("args", "fn", "future", "kwargs")

    def __init__(self, future: Future[Any], fn: Callable[..., Any], args: Any, kwargs: Any):
        self.future, self.fn, self.args, self.kwargs = future, fn, args, kwargs

    def run(self) -> None:
        if not self.future.set_running_or_notify_cancel():
            return
        try:
            result = self.fn(*self.args, **self.kwargs)
        except BaseException as error:
            self.future.set_exception(error)
        else:
            self.future.set_result(result)


class _Workers:
    """A pool's threads and queue, kept apart from the executor object so that threads do not
    keep it alive: when the executor is collected (or the interpreter exits) they are stopped.

    Counts, under ``lock``: ``started`` threads ever started (at most ``limit``), ``running``
    threads whose loop has not ended (what ``join`` waits for), ``idle`` finished calls not yet
    matched by a submit (as ``ThreadPoolExecutor``'s idle semaphore)."""

    def __init__(self, limit: int, name_prefix: str) -> None:
        self.limit = limit
        self.name_prefix = name_prefix
        self.stopped = False
        self.forget_threads()

    def forget_threads(self) -> None:
        """Start with no threads: on creation, and in a forked child (the threads, and the
        calls queued for them, stayed in the parent; a lock may have been held at the fork)."""
        self.queue: queue.SimpleQueue[_Work | None] = queue.SimpleQueue()
        self.lock = threading.Lock()
        self.ended = threading.Condition(self.lock)
        self.idents: set[int] = set()  # of the pool's threads, as each starts its loop
        self.started = self.running = self.idle = 0
        if self.stopped:
            self.queue.put(None)

    def submit(self, work: _Work) -> None:
        """Queue ``work``; start a thread for it if no thread is free and the pool is not full."""
        with self.lock:
            if self.stopped:
                raise RuntimeError("cannot schedule new futures after shutdown")
            self.queue.put(work)
            if self.idle:
                self.idle -= 1
                return
            if self.started >= self.limit:
                return
            self.started += 1
            self.running += 1
            number = self.started
        try:
            _thread.start_new_thread(_pool_thread, (self, f"{self.name_prefix}_{number}"))
        except BaseException:
            with self.lock:
                self.started -= 1
                self.running -= 1
                self.ended.notify_all()
            raise

    def stop(self, cancel_futures: bool = False) -> None:
        with self.lock:
            self.stopped = True
            if cancel_futures:
                while True:
                    try:
                        work = self.queue.get_nowait()
                    except queue.Empty:
                        break
                    if work is not None:
                        work.future.cancel()
            self.queue.put(None)  # each thread passes it on as it exits

    def join(self) -> None:
        """Wait until every thread of the pool has ended (but the calling one, if it is one)."""
        with self.lock:
            while self.running > (_thread.get_ident() in self.idents):
                self.ended.wait()


def _pool_thread(workers: _Workers, name: str) -> None:
    """A pool thread, started without ``threading.Thread``: ``Thread.start`` waits until the new
    thread has run, and that wait, once per thread, was most of a wide pool's start-up on a busy
    machine. What ``Thread`` would give the thread, it gets here: the tracing and profiling
    functions set with ``threading.settrace``/``setprofile`` (coverage, profilers), and an entry
    in ``threading.enumerate()`` under its name (for logs), removed as it ends."""
    ident = _thread.get_ident()
    if (trace := threading.gettrace()) is not None:
        sys.settrace(trace)
    if (profile := threading.getprofile()) is not None:
        sys.setprofile(profile)
    thread = threading.current_thread()
    thread.name = name
    with workers.lock:
        workers.idents.add(ident)
    try:
        _work_loop(workers)
    finally:
        _forget(thread, ident)
        with workers.lock:
            workers.idents.discard(ident)
            workers.running -= 1
            workers.ended.notify_all()


def _forget(thread: threading.Thread, ident: int) -> None:
    """Drop the thread's ``threading`` entry, which Python keeps for threads it did not start
    (a "dummy" thread stays listed as alive after it ends)."""
    active = getattr(threading, "_active", None)
    if isinstance(active, dict) and active.get(ident) is thread:
        active.pop(ident, None)


def _work_loop(workers: _Workers) -> None:
    take, lock = workers.queue.get, workers.lock
    while True:
        work = take()
        if work is None:
            workers.queue.put(None)
            return
        work.run()
        del work
        with lock:
            workers.idle += 1


_live_pools: weakref.WeakSet[_Workers] = weakref.WeakSet()  # stopped at interpreter exit


def _stop_live_pools() -> None:
    pools = list(_live_pools)
    for workers in pools:
        workers.stop()
    for workers in pools:
        workers.join()


def _forget_threads_after_fork() -> None:
    for workers in list(_live_pools):
        workers.forget_threads()


os.register_at_fork(after_in_child=_forget_threads_after_fork)
# As concurrent.futures does: stop pool threads just before the interpreter joins non-daemon
# threads (a plain atexit hook would run after that join, which would wait forever).
getattr(threading, "_register_atexit", atexit.register)(_stop_live_pools)


class MultiThreadedExecutor(Executor):
    """A thread pool sized by ``max_concurrency`` — the name the reference page uses.

    Threads start lazily (only as many as there are concurrent calls) and the pool can be shared
    by many maps and nested maps: a map never blocks a pool thread waiting for a branch that has
    not started, so a small pool cannot deadlock (see docs/parallelism.md).

    Unlike ``ThreadPoolExecutor``, which starts each new thread inside ``submit`` while holding
    a process-wide lock and waits until the thread has run (so every thread of every pool starts
    one after another, each waiting to be scheduled), a submit starts its thread outside any
    shared lock and does not wait for it: a wide pool's threads come up together, and on a busy
    machine its start-up no longer adds up the scheduling delays of every thread (see
    ``_pool_thread``). Idle threads exit when the executor is shut down or garbage-collected.
    """

    flowc_thread_based = True

    def __init__(
        self, max_concurrency: int | None = None, thread_name_prefix: str = "flowc-branch"
    ) -> None:
        if max_concurrency is not None and max_concurrency < 1:
            raise ValueError(f"max_concurrency must be at least 1, got {max_concurrency}")
        self.max_concurrency = max_concurrency or DEFAULT_MAX_CONCURRENCY
        self._workers = _Workers(self.max_concurrency, thread_name_prefix)
        _live_pools.add(self._workers)
        weakref.finalize(self, self._workers.stop)

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            self._workers.submit(_Work(future, fn, args, kwargs))
        except BaseException:
            # The call may be queued already (a new thread failed to start): cancel it, so that
            # nothing runs a call its caller was told failed. If a thread took it first, it runs.
            if future.cancel():
                raise
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._workers.stop(cancel_futures)
        if wait:
            self._workers.join()


@dataclass(frozen=True, slots=True)
class ResolvedExecutor:
    """The executor one map invocation uses, and facts the scheduler needs about it."""

    executor: Executor
    owned: bool  # created for this invocation: shut it down afterwards
    threaded: bool  # shares memory with the caller (pull scheduling)
    width: int | None  # how many branches it can run at once, when known

    def close(self) -> None:
        if self.owned:
            self.executor.shutdown(wait=False, cancel_futures=True)


def is_thread_based(executor: Executor) -> bool:
    """True for executors whose tasks run in this process's threads."""
    return isinstance(executor, (ThreadPoolExecutor, MultiThreadedExecutor)) or bool(
        getattr(executor, "flowc_thread_based", False)
    )


def executor_width(executor: Executor) -> int | None:
    """How many tasks the executor runs at once, if it says."""
    for attribute in ("max_concurrency", "_max_workers"):
        value = getattr(executor, attribute, None)
        if isinstance(value, int) and value > 0:
            return value
    return None


def resolve_executor(*choices: ExecutorChoice) -> ResolvedExecutor:
    """Take the first choice that is not None: an instance is borrowed, a factory's result and the
    default pool are owned by the caller (and closed with ``ResolvedExecutor.close``)."""
    for choice in choices:
        if choice is None:
            continue
        if isinstance(choice, Executor):
            return ResolvedExecutor(
                choice, owned=False, threaded=is_thread_based(choice), width=executor_width(choice)
            )
        if callable(choice):
            made = choice()
            if not isinstance(made, Executor):
                raise TypeError(
                    f"the parallel executor factory {choice!r} returned {type(made).__name__}, "
                    "not a concurrent.futures.Executor"
                )
            return ResolvedExecutor(
                made, owned=True, threaded=is_thread_based(made), width=executor_width(made)
            )
        raise TypeError(
            f"a parallel executor must be a concurrent.futures.Executor or a zero-argument "
            f"factory returning one, got {type(choice).__name__}"
        )
    pool = MultiThreadedExecutor()
    return ResolvedExecutor(pool, owned=True, threaded=True, width=pool.max_concurrency)
