"""Running a map's branches: bounded look-ahead, task-order results, failure policies.

Three schedulers share one contract: they pull tasks lazily from the map's task generator, run
them concurrently, and hand ``reduce`` a generator of final states **in task order** while later
branches are still running; ``finish()`` then drains what ``reduce`` did not consume and applies
the end-of-run policy checks.

- ``PullSchedule`` (thread executors). The pool gets a few *worker loops* that claim the next
  task from a shared cursor under one lock, run it and store the outcome. No future per branch,
  so its overhead is two lock round-trips per branch. The thread that runs the map (the caller)
  also claims and runs branches while it waits for the one ``reduce`` needs next, which is why
  nested maps on a small shared pool cannot deadlock: a map never *waits* for a branch that no
  thread has started.
- ``PushSchedule`` (any other executor: process pools, Dask). One future per branch, at most
  ``concurrency`` in flight; the caller processes completions as they arrive.
- ``AsyncSchedule`` (async maps). ``asyncio`` tasks, at most ``concurrency`` at once.

Look-ahead is bounded: a branch is claimed only while fewer than ``lookahead`` branches are
claimed beyond the one ``reduce`` waits for, so memory does not grow with the number of tasks.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass
from typing import Any

from flowc.runtime.executors import ResolvedExecutor
from flowc.runtime.parallel.errors import (
    BranchTimeoutError,
    FailureToleranceExceededError,
    NotEnoughSuccessesError,
)
from flowc.runtime.parallel.options import FailurePolicy, MapOptions, Retry
from flowc.runtime.parallel.outcomes import BranchFailure, BranchResult

Outcome = BranchResult | BranchFailure
LOOP_FAN_OUT = 8  # how many more worker loops each loop may add before running a branch
# A map adds worker loops beyond the first only while its branches are slow: they take this
# long on average (or, before any has finished, the first has been running this long).
SLOW_BRANCH_S = 0.0001
LOOP_START_GRACE_S = 0.002  # how long the caller lets new worker loops start before it helps
# ... in a supervised map (timeout, first-k), where the caller must stay free, so its help is a
# thread of its own per branch: it waits out a pool that is merely slow to start its first
# threads, and starts threads only for one that looks saturated (nested maps on a small pool).
SUPERVISED_START_GRACE_S = 0.05
Sink = Callable[[Outcome], None]
_END = object()  # PullSchedule._next_outcome: every outcome has been handed out


@dataclass(frozen=True, slots=True)
class Plan:
    """What every scheduler needs besides the tasks: how to run one, and the policies."""

    run_task: Callable[[Any], Any]  # task -> final state; raises on failure
    describe: Callable[[Any], tuple[str, str]]  # task -> (key, action name)
    input_state: Callable[[Any], Any]  # task -> its input state (for BranchFailure)
    error_for: Callable[[BranchFailure, Any], BaseException]  # failure, task -> F520 error
    options: MapOptions
    concurrency: int
    lookahead: int
    sink: Sink | None = None
    outbound: Callable[[Any], Any] | None = None  # task -> what is sent to another process


def run_with_retry(run_task: Callable[[Any], Any], retry: Retry | None, task: Any) -> Any:
    """One branch, retried per ``retry``; returns ``(state, attempts)`` or raises the last error
    with ``flowc_attempts`` set on it."""
    attempts = 0
    while True:
        attempts += 1
        try:
            return run_task(task), attempts
        except Exception as error:
            if retry is None or not retry.should_retry(error, attempts):
                error.flowc_attempts = attempts  # type: ignore[attr-defined]
                raise
            time.sleep(retry.delay(attempts))


class _Tally:
    """Successes and failures so far, and what the failure policy makes of them."""

    __slots__ = ("failures", "first_k", "policy", "success_order", "successes")

    def __init__(self, options: MapOptions) -> None:
        self.policy: FailurePolicy = options.failure_policy
        self.first_k = options.first_k
        self.successes = 0
        self.success_order: list[int] = []
        self.failures: list[BranchFailure] = []

    def add(self, outcome: Outcome, plan: Plan, task: Any) -> BaseException | None:
        """Count an outcome; return the error that must stop the map, if any."""
        if isinstance(outcome, BranchResult):
            self.succeeded(outcome.index)
            return None
        return self.failed(outcome, plan, task)

    def succeeded(self, index: int) -> bool:
        """Count a success; True when it is the k-th of a first-k map (the race is decided)."""
        self.successes += 1
        if self.first_k is None:
            return False
        self.success_order.append(index)
        return self.successes >= self.first_k

    def failed(self, outcome: BranchFailure, plan: Plan, task: Any) -> BaseException | None:
        """Count a failure; return the error that must stop the map, if any."""
        self.failures.append(outcome)
        if self.policy.is_fail_fast:
            return plan.error_for(outcome, task)
        if self.policy.exceeded_early(len(self.failures)):
            return self.tolerance_error()
        return None

    def reached_k(self) -> bool:
        return self.first_k is not None and self.successes >= self.first_k

    def tolerance_error(self, total: int | None = None) -> FailureToleranceExceededError:
        first = self.failures[0]
        policy = self.policy
        allowed = (
            f"at most {policy.max_failures}"
            if policy.max_failure_ratio is None
            else f"at most {policy.max_failure_ratio:.0%}"
        )
        of = f" of {total}" if total is not None else ""
        error = FailureToleranceExceededError(
            f"{len(self.failures)}{of} branches failed; the failure policy allows {allowed}. "
            f"First: {first.describe()}: {type(first.error).__name__}: {first.error}",
            hints=("each failure is in .failures; the first one's exception is __cause__",),
        )
        error.failures = tuple(self.failures)  # type: ignore[attr-defined]
        error.__cause__ = first.error
        return error

    def end_error(self, total: int) -> BaseException | None:
        if self.failures and self.policy.exceeded_at_end(len(self.failures), total):
            return self.tolerance_error(total)
        if self.first_k is not None and self.successes < self.first_k:
            return NotEnoughSuccessesError(
                f"first_k={self.first_k} needs {self.first_k} successful branches, but only "
                f"{self.successes} of {total} succeeded",
                hints=("lower first_k, or tolerate fewer failures",),
            )
        return None


def _outcome(plan: Plan, index: int, task: Any, state: Any, attempts: int) -> BranchResult:
    key, name = plan.describe(task)
    return BranchResult(index, key, name, state, attempts)


def _failure(plan: Plan, index: int, task: Any, error: BaseException) -> BranchFailure:
    key, name = plan.describe(task)
    attempts = getattr(error, "flowc_attempts", 1)
    return BranchFailure(index, key, name, error, plan.input_state(task), attempts)


def _timeout_error(plan: Plan, index: int, task: Any) -> BranchTimeoutError:
    key, name = plan.describe(task)
    return BranchTimeoutError(
        f"branch {index} (key {key!r}, action '{name}') ran longer than "
        f"{plan.options.timeout} s and was abandoned",
        hints=("raise MapOptions.timeout, or make the branch faster",),
    )


class PullSchedule:
    """Worker loops on a thread executor pull branches from a shared cursor (module docstring)."""

    def __init__(self, source: Iterator[Any], plan: Plan, resolved: ResolvedExecutor) -> None:
        self._source = source
        self._plan = plan
        self._executor = resolved.executor
        self._retry = plan.options.retry
        self._timeout = plan.options.timeout
        self._first_k = plan.options.first_k is not None
        # With a timeout or a first-k race the caller must stay free to act the moment a
        # deadline passes or the race is decided: it never runs branches while loops do, and
        # loops grow to the map's concurrency whatever the branches' durations.
        self._supervised = self._timeout is not None or self._first_k
        self._start_grace_s = SUPERVISED_START_GRACE_S if self._supervised else LOOP_START_GRACE_S
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._exhausted = False
        self._stopped = False
        self._fatal: BaseException | None = None
        self._claimed = 0
        self._active = 0
        self._cursor = 0
        self._loops = 0  # submitted and not finished
        self._loops_running = 0
        self._pool_closed = False  # the executor refused a loop: the caller runs every branch
        self._help_after = 0.0  # give just-submitted loops a moment to start before helping
        self._waiting = False
        self._first_started = 0.0  # before any branch finished: when the first one started
        self._mean_s: float | None = None  # moving average of branch durations (wall time)
        # branches have been short (and nothing needs supervising): the caller runs them
        # itself, as a loop on another thread would only make it wait for the GIL to get each
        # state back, and it starts no new loop unless they turn slow
        self._short = False
        # index -> the branch's final state, or its BranchFailure (a BranchResult is made only
        # for a sink: reduce needs the state alone)
        self._done: dict[int, Any] = {}
        self._running: dict[int, tuple[float, Any]] = {}  # index -> (deadline, task), if timeout
        self._tally = _Tally(plan.options)

    # -- claiming and completing (all under the lock) --

    def _claim_locked(self) -> tuple[int, Any] | None:
        plan = self._plan
        if self._stopped or self._exhausted or self._active >= plan.concurrency:
            return None
        if self._claimed - self._cursor >= plan.lookahead:
            return None
        try:
            task = next(self._source)
        except StopIteration:
            self._exhausted = True
            self._changed.notify_all()
            return None
        except BaseException as error:  # the map's own task generator failed: raise it as is
            self._fatal, self._stopped = error, True
            self._changed.notify_all()
            return None
        index = self._claimed
        if not index:
            self._first_started = time.monotonic()
        self._claimed += 1
        self._active += 1
        if self._timeout is not None:
            self._running[index] = (time.monotonic() + self._timeout, task)
        return index, task

    def _record_locked(
        self, index: int, task: Any, outcome: Any, started: float, ended: float
    ) -> bool:
        """Store an outcome (the final state, or a ``BranchFailure``) of a branch that ran from
        ``started`` to ``ended``; False when the branch was already abandoned (timed out)."""
        if self._timeout is not None and self._running.pop(index, None) is None:
            return False
        self._active -= 1
        # a moving average of durations, each counted as at most twice the slow threshold so
        # that one branch preempted on a busy machine does not make a map of short ones "slow"
        took = ended - started
        if took > 2 * SLOW_BRANCH_S:
            took = 2 * SLOW_BRANCH_S
        mean = self._mean_s
        self._mean_s = mean = took if mean is None else mean + (took - mean) * 0.25
        self._short = mean < SLOW_BRANCH_S and not self._supervised
        self._done[index] = outcome
        if type(outcome) is BranchFailure:
            error = self._tally.failed(outcome, self._plan, task)
            if error is not None and self._fatal is None:
                self._fatal, self._stopped = error, True
        elif self._tally.succeeded(index):
            self._stopped = True
        if self._stopped or (self._waiting and index == self._cursor):
            self._changed.notify_all()  # the caller waits for the outcome at its cursor only
        return True

    def _expire_locked(self) -> float | None:
        """Abandon branches past their deadline; return seconds until the next deadline."""
        if not self._running:
            return None
        now = time.monotonic()
        expired = [(i, task) for i, (deadline, task) in self._running.items() if deadline <= now]
        for index, task in expired:
            error = _timeout_error(self._plan, index, task)
            failure = _failure(self._plan, index, task, error)
            self._record_locked(index, task, failure, now - self._plan.options.timeout, now)
        if not self._running:
            return None
        return max(0.0, min(deadline for deadline, _ in self._running.values()) - now)

    # -- running --

    def _run(self, index: int, task: Any, caller: bool = False) -> Any:
        """Run one branch and record its outcome. The caller (the thread feeding ``reduce``)
        gets the outcome back when it is the one at the cursor (``_END`` otherwise), taken in
        the same lock round-trip as recording it."""
        plan = self._plan
        attempts = 1
        started = time.monotonic()
        try:
            if self._retry is None:
                outcome = plan.run_task(task)
            else:
                outcome, attempts = run_with_retry(plan.run_task, self._retry, task)
        except Exception as error:
            if self._retry is None:
                error.flowc_attempts = 1  # type: ignore[attr-defined]
            outcome = _failure(plan, index, task, error)
        else:
            if self._timeout is not None:
                with self._lock:
                    entry = self._running.get(index)
                if entry is not None and time.monotonic() > entry[0]:
                    outcome = _failure(plan, index, task, _timeout_error(plan, index, task))
        ended = time.monotonic()
        handed = _END
        with self._lock:
            kept = self._record_locked(index, task, outcome, started, ended)
            if caller and kept and index == self._cursor and self._fatal is None:
                handed = self._done.pop(index)
                self._cursor += 1
        if kept and plan.sink is not None:
            plan.sink(
                outcome
                if type(outcome) is BranchFailure
                else _outcome(plan, index, task, outcome, attempts)
            )
        return handed

    def _grow_locked(self, most: int) -> int:
        """How many more worker loops to submit (at most ``most``): up to ``concurrency`` loops,
        while a branch could be claimed now. The map's thread adds one loop; every loop adds up
        to ``LOOP_FAN_OUT`` more before running each branch it claims, so the pool fills in a
        few rounds and starting its threads (``Thread.start`` waits until the new thread is
        scheduled) happens on the pool's threads, never blocking the thread that feeds
        ``reduce``."""
        if self._exhausted or self._stopped or self._pool_closed:
            return 0
        room = min(
            most,
            self._plan.concurrency - self._loops,
            self._plan.lookahead - (self._claimed - self._cursor),
        )
        if room <= 0:
            return 0
        self._loops += room
        return room

    def _slow_locked(self, now: float) -> bool:
        """Whether another worker loop would help: branches are in flight and take at least
        ``SLOW_BRANCH_S`` on average — or, before any has finished, one has been running that
        long. Short CPU-bound branches gain nothing from more threads under the GIL, and each
        new thread costs more than such a branch, so a map of them keeps one loop (and its
        caller); a map of branches that block (I/O, sleeps, C code releasing the GIL) grows
        at once. A supervised map (timeout, first-k) always grows: one slow branch on a lone
        loop would hold up the rest of the race, or every branch after a timed-out one."""
        if not self._active:
            return False
        if self._supervised:
            return True
        mean = self._mean_s
        if mean is None:
            return now - self._first_started >= SLOW_BRANCH_S
        return mean >= SLOW_BRANCH_S

    def _submit_loops(self, count: int) -> None:
        for submitted in range(count):
            try:
                self._executor.submit(self._loop)
            except RuntimeError:  # the executor was shut down: the caller carries on alone
                with self._lock:
                    self._loops -= count - submitted
                    self._pool_closed = True
                    self._help_after = 0.0
                return

    def _loop(self) -> None:
        concurrency = self._plan.concurrency
        with self._lock:
            self._loops_running += 1
            if self._waiting:
                self._changed.notify_all()
        try:
            while True:
                with self._lock:
                    claimed = self._claim_locked()
                    if claimed is None:
                        return
                    grow = 0
                    if self._loops < concurrency and self._slow_locked(time.monotonic()):
                        grow = self._grow_locked(LOOP_FAN_OUT)
                if grow:
                    self._submit_loops(grow)
                self._run(*claimed)
        finally:
            with self._lock:
                self._loops_running -= 1
                self._loops -= 1
                if self._waiting:
                    self._changed.notify_all()

    def _caller_may_help_locked(self) -> bool:
        # The caller runs branches while they are short, and while no worker loop is running
        # (the pool is saturated, as with nested maps on a small shared pool, or slow to start;
        # a supervised map starts a thread per branch instead). Otherwise it stays free to hand
        # finished states to ``reduce`` and to supervise timeouts.
        if self._short:
            return True
        return self._loops_running == 0 and time.monotonic() >= self._help_after

    def _next_outcome(self) -> Any:
        """The outcome at the cursor (running branches meanwhile): the final state or a
        ``BranchFailure``; ``_END`` when all are done."""
        while True:
            with self._lock:
                claimed = None
                entry = _END
                grow = 0
                while True:
                    if self._fatal is not None:
                        raise self._fatal
                    wait_s = self._expire_locked() if self._timeout is not None else None
                    if self._fatal is not None:
                        continue
                    entry = self._done.pop(self._cursor, _END)
                    if entry is not _END:
                        self._cursor += 1
                        if self._loops == 0 and not self._short:
                            grow = self._grow_locked(1)  # loops stop at the look-ahead limit
                        break
                    if self._cursor >= self._claimed and (self._exhausted or self._stopped):
                        return _END
                    if self._stopped and self._tally.reached_k():
                        return _END  # a race is decided: do not wait for the losers
                    if self._loops == 0 and not self._short:
                        grow = self._grow_locked(1)
                        if grow:
                            break
                    if self._loops < self._plan.concurrency and self._active:
                        # more loops while branches are slow; look again when they would be
                        now = time.monotonic()
                        if self._slow_locked(now):
                            grow = self._grow_locked(LOOP_FAN_OUT)
                            if grow:
                                break
                        elif self._mean_s is None:
                            due = max(self._first_started + SLOW_BRANCH_S - now, 0.0)
                            wait_s = due if wait_s is None else min(wait_s, due)
                    if self._caller_may_help_locked():
                        claimed = self._claim_locked()
                        if claimed is not None:
                            break
                        if self._fatal is not None:
                            continue
                    elif self._loops_running == 0:
                        wait_s = min(wait_s or self._start_grace_s, self._start_grace_s)
                    if self._cursor >= self._claimed and (self._exhausted or self._stopped):
                        return _END
                    self._waiting = True
                    self._changed.wait(wait_s)
                    self._waiting = False
            if grow:
                # Outside the lock: only this (the caller's) thread reads it, and a loop's
                # write of 0.0 lost to this one costs the caller one grace period at most.
                self._help_after = time.monotonic() + self._start_grace_s
                self._submit_loops(grow)
            if entry is not _END:
                return entry
            if claimed is not None:
                if self._supervised and self._run_on_own_thread(*claimed):
                    continue
                entry = self._run(*claimed, caller=True)
                if entry is not _END:
                    return entry

    def _run_on_own_thread(self, index: int, task: Any) -> bool:
        """Help a saturated pool in a supervised map: a branch on the caller's thread could be
        neither timed out nor left behind by a decided race, so it gets a thread of its own
        (outside the pool, which has none free; at most ``concurrency`` at once, like loops).
        False if no thread can be started (a process at its thread limit): the caller runs it."""
        thread = threading.Thread(
            target=self._run, args=(index, task), name="flowc-map-branch", daemon=True
        )
        try:
            thread.start()
        except RuntimeError:
            return False
        return True

    def __iter__(self) -> Iterator[Any]:
        if self._first_k:
            yield from self._first_k_states()
            return
        include = self._plan.options.failure_policy.failed == "include"
        while (outcome := self._next_outcome()) is not _END:
            if include or type(outcome) is not BranchFailure:
                yield outcome

    def _first_k_states(self) -> Iterator[Any]:
        k = self._plan.options.first_k or 0
        kept: dict[int, Any] = {}
        index = 0  # outcomes come in task order
        while (outcome := self._next_outcome()) is not _END:
            if type(outcome) is not BranchFailure and index in self._tally.success_order[:k]:
                kept[index] = outcome
            index += 1
        chosen = sorted(self._tally.success_order[:k])
        with self._lock:  # winners that finished behind a still-running loser were not popped
            for index in chosen:
                if index not in kept:
                    kept[index] = self._done[index]
        yield from (kept[index] for index in chosen)

    def finish(self) -> None:
        """Run what ``reduce`` did not consume, then apply the end-of-run checks."""
        try:
            if not self._first_k:
                while self._next_outcome() is not _END:
                    pass
        finally:
            self.close()
        error = self._tally.end_error(self._claimed)
        if error is not None:
            raise error

    def close(self) -> None:
        with self._lock:
            self._stopped = True
            self._changed.notify_all()


class PushSchedule:
    """One future per branch on a non-thread executor (process pool, Dask), at most
    ``concurrency`` in flight; the caller thread handles every completion as it arrives."""

    def __init__(self, source: Iterator[Any], plan: Plan, resolved: ResolvedExecutor) -> None:
        self._source = source
        self._plan = plan
        self._executor = resolved.executor
        self._timeout = plan.options.timeout
        self._first_k = plan.options.first_k is not None
        self._exhausted = False
        self._stopped = False
        self._fatal: BaseException | None = None
        self._claimed = 0
        self._cursor = 0
        self._inflight: dict[Future[Any], tuple[int, Any, float]] = {}
        self._done: dict[int, tuple[Outcome, Any]] = {}
        self._tally = _Tally(plan.options)

    def _fill(self) -> None:
        plan = self._plan
        while (
            not self._stopped
            and not self._exhausted
            and len(self._inflight) < plan.concurrency
            and self._claimed - self._cursor < plan.lookahead
        ):
            try:
                task = next(self._source)
                sent = task if plan.outbound is None else plan.outbound(task)
            except StopIteration:
                self._exhausted = True
                return
            except BaseException as error:
                self._fatal, self._stopped = error, True
                return
            deadline = time.monotonic() + self._timeout if self._timeout else float("inf")
            future = self._executor.submit(run_with_retry, plan.run_task, plan.options.retry, sent)
            self._inflight[future] = (self._claimed, task, deadline)
            self._claimed += 1

    def _record(self, index: int, task: Any, outcome: Outcome) -> None:
        self._done[index] = (outcome, task)
        error = self._tally.add(outcome, self._plan, task)
        if error is not None and self._fatal is None:
            self._fatal, self._stopped = error, True
        if self._tally.reached_k():
            self._stopped = True
        if self._plan.sink is not None:
            self._plan.sink(outcome)

    def _collect(self) -> None:
        plan = self._plan
        wait_s = None
        if self._timeout is not None:
            wait_s = max(0.0, min(d for _, _, d in self._inflight.values()) - time.monotonic())
        finished, _ = wait(list(self._inflight), timeout=wait_s, return_when=FIRST_COMPLETED)
        for future in finished:
            index, task, _ = self._inflight.pop(future)
            try:
                state, attempts = future.result()
                outcome: Outcome = _outcome(plan, index, task, state, attempts)
            except Exception as error:
                outcome = _failure(plan, index, task, error)
            self._record(index, task, outcome)
        now = time.monotonic()
        for future, (index, task, deadline) in list(self._inflight.items()):
            if deadline <= now:
                future.cancel()
                del self._inflight[future]
                error = _timeout_error(plan, index, task)
                self._record(index, task, _failure(plan, index, task, error))

    def _next_outcome(self) -> tuple[Outcome, Any] | None:
        while True:
            if self._fatal is not None:
                self.close()
                raise self._fatal
            entry = self._done.pop(self._cursor, None)
            if entry is not None:
                self._cursor += 1
                return entry
            if self._cursor >= self._claimed and (self._exhausted or self._stopped):
                return None
            if self._stopped and self._tally.reached_k():
                return None
            self._fill()
            if self._inflight and self._fatal is None:
                self._collect()

    def __iter__(self) -> Iterator[Any]:
        if self._first_k:
            yield from _first_k_from(self, self._plan, self._tally)
            return
        include = self._plan.options.failure_policy.failed == "include"
        while (entry := self._next_outcome()) is not None:
            outcome = entry[0]
            if isinstance(outcome, BranchResult):
                yield outcome.state
            elif include:
                yield outcome

    def finish(self) -> None:
        try:
            if not self._first_k:
                while self._next_outcome() is not None:
                    pass
        finally:
            self.close()
        error = self._tally.end_error(self._claimed)
        if error is not None:
            raise error

    def close(self) -> None:
        self._stopped = True
        for future in self._inflight:
            future.cancel()


def _first_k_from(schedule: PushSchedule, plan: Plan, tally: _Tally) -> Iterator[Any]:
    k = plan.options.first_k or 0
    kept: dict[int, Any] = {}
    while (entry := schedule._next_outcome()) is not None:
        outcome = entry[0]
        if isinstance(outcome, BranchResult):
            kept[outcome.index] = outcome.state
    for index, (outcome, _) in schedule._done.items():
        if isinstance(outcome, BranchResult):
            kept[index] = outcome.state
    schedule.close()
    yield from (kept[index] for index in sorted(tally.success_order[:k]))


class AsyncSchedule:
    """Async branches as ``asyncio`` tasks, at most ``concurrency`` at once; a failure that
    stops the map cancels the running ones (async branches, unlike threads, can be cancelled)."""

    def __init__(self, source: Any, plan: Plan, run_task: Callable[[Any], Awaitable[Any]]) -> None:
        self._source = source
        self._is_async_source = hasattr(source, "__anext__")
        self._plan = plan
        self._run_task = run_task
        self._first_k = plan.options.first_k is not None
        self._exhausted = False
        self._stopped = False
        self._fatal: BaseException | None = None
        self._claimed = 0
        self._cursor = 0
        self._running: dict[int, asyncio.Task[Outcome]] = {}
        self._done: dict[int, tuple[Outcome, Any]] = {}
        self._tasks: dict[int, Any] = {}
        self._tally = _Tally(plan.options)

    async def _attempts(self, task: Any) -> tuple[Any, int]:
        retry = self._plan.options.retry
        attempts = 0
        while True:
            attempts += 1
            try:
                return await self._run_task(task), attempts
            except Exception as error:
                if retry is None or not retry.should_retry(error, attempts):
                    error.flowc_attempts = attempts  # type: ignore[attr-defined]
                    raise
                await asyncio.sleep(retry.delay(attempts))

    async def _branch(self, index: int, task: Any) -> Outcome:
        plan = self._plan
        try:
            if plan.options.timeout is None:
                state, attempts = await self._attempts(task)
            else:
                state, attempts = await asyncio.wait_for(self._attempts(task), plan.options.timeout)
            return _outcome(plan, index, task, state, attempts)
        except TimeoutError:
            return _failure(plan, index, task, _timeout_error(plan, index, task))
        except Exception as error:
            return _failure(plan, index, task, error)

    async def _fill(self) -> None:
        plan = self._plan
        while (
            not self._stopped
            and not self._exhausted
            and len(self._running) < plan.concurrency
            and self._claimed - self._cursor < plan.lookahead
        ):
            try:
                if self._is_async_source:
                    task = await self._source.__anext__()
                else:
                    task = next(self._source)
            except (StopIteration, StopAsyncIteration):
                self._exhausted = True
                return
            except BaseException as error:
                self._fatal, self._stopped = error, True
                return
            index = self._claimed
            self._claimed += 1
            self._tasks[index] = task
            self._running[index] = asyncio.ensure_future(self._branch(index, task))

    async def _next_outcome(self) -> tuple[Outcome, Any] | None:
        while True:
            if self._fatal is not None:
                await self.close()
                raise self._fatal
            entry = self._done.pop(self._cursor, None)
            if entry is not None:
                self._cursor += 1
                return entry
            if self._cursor >= self._claimed and (self._exhausted or self._stopped):
                return None
            if self._stopped and self._tally.reached_k():
                return None
            await self._fill()
            if not self._running or self._fatal is not None:
                continue
            finished, _ = await asyncio.wait(
                self._running.values(), return_when=asyncio.FIRST_COMPLETED
            )
            for future in finished:
                outcome = future.result()
                self._running.pop(outcome.index)
                task = self._tasks.pop(outcome.index)
                self._done[outcome.index] = (outcome, task)
                error = self._tally.add(outcome, self._plan, task)
                if error is not None and self._fatal is None:
                    self._fatal, self._stopped = error, True
                if self._tally.reached_k():
                    self._stopped = True
                if self._plan.sink is not None:
                    self._plan.sink(outcome)

    async def states(self) -> AsyncIterator[Any]:
        """The states (and included failures) in task order, for an async ``reduce``."""
        if self._first_k:
            k = self._plan.options.first_k or 0
            while await self._next_outcome() is not None:
                pass
            await self.close()
            winners = sorted(self._tally.success_order[:k])
            states = {i: o.state for i, (o, _) in self._done.items() if isinstance(o, BranchResult)}
            for index in winners:
                yield states[index]
            return
        include = self._plan.options.failure_policy.failed == "include"
        while (entry := await self._next_outcome()) is not None:
            outcome = entry[0]
            if isinstance(outcome, BranchResult):
                yield outcome.state
            elif include:
                yield outcome

    async def finish(self) -> None:
        try:
            if not self._first_k:
                while await self._next_outcome() is not None:
                    pass
        finally:
            await self.close()
        error = self._tally.end_error(self._claimed)
        if error is not None:
            raise error

    async def close(self) -> None:
        self._stopped = True
        running = list(self._running.values())
        self._running.clear()
        for future in running:
            future.cancel()
        if running:
            await asyncio.gather(*running, return_exceptions=True)
