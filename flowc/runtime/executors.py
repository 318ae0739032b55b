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

import os
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass

ExecutorChoice = Executor | Callable[[], Executor] | None

DEFAULT_MAX_CONCURRENCY = min(32, (os.cpu_count() or 1) + 4)


class MultiThreadedExecutor(ThreadPoolExecutor):
    """A thread pool sized by ``max_concurrency`` — the name the reference page uses.

    Threads start lazily (only as many as there are concurrent branches) and the pool can be
    shared by many maps and nested maps: a map never blocks a pool thread waiting for a branch
    that has not started, so a small pool cannot deadlock (see docs/parallelism.md).
    """

    def __init__(
        self, max_concurrency: int | None = None, thread_name_prefix: str = "flowc-branch"
    ) -> None:
        if max_concurrency is not None and max_concurrency < 1:
            raise ValueError(f"max_concurrency must be at least 1, got {max_concurrency}")
        self.max_concurrency = max_concurrency or DEFAULT_MAX_CONCURRENCY
        super().__init__(max_workers=self.max_concurrency, thread_name_prefix=thread_name_prefix)


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
    return isinstance(executor, ThreadPoolExecutor) or bool(
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
