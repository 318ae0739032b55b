"""How a map runs its branches: ``MapOptions`` and its parts, all frozen values.

A map class sets them as a class attribute (``options = MapOptions(max_concurrency=4)``) or
computes them per invocation by overriding ``map_options(state, context)``; the compiler
generates the former from a ``.flow`` map block.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Hashable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any, Literal

from flowc.runtime.parallel.errors import InvalidMapOptionsError

FailedBranches = Literal["skip", "include"]
TaskKey = str | Callable[[Any], Hashable] | None


@dataclass(frozen=True, slots=True)
class FailurePolicy:
    """Which branch failures a map tolerates, and what ``reduce`` sees of them.

    The default (``FailurePolicy()``) is fail-fast: the first failure stops new branches from
    starting and is raised at once. ``max_failures``/``max_failure_ratio`` tolerate some; the
    tolerated ones are skipped (``failed="skip"``) or handed to ``reduce`` as ``BranchFailure``
    values in their task position (``failed="include"``).
    """

    max_failures: int | None = 0
    max_failure_ratio: float | None = None
    failed: FailedBranches = "skip"

    def __post_init__(self) -> None:
        if self.max_failures is not None and self.max_failures < 0:
            raise InvalidMapOptionsError(f"max_failures must be >= 0, got {self.max_failures}")
        ratio = self.max_failure_ratio
        if ratio is not None and not 0.0 <= ratio <= 1.0:
            raise InvalidMapOptionsError(f"max_failure_ratio must be in [0, 1], got {ratio}")
        if self.failed not in ("skip", "include"):
            raise InvalidMapOptionsError(f"failed must be 'skip' or 'include', got {self.failed!r}")

    @classmethod
    def fail_fast(cls) -> FailurePolicy:
        return cls()

    @classmethod
    def tolerate(cls, failures: int, *, failed: FailedBranches = "skip") -> FailurePolicy:
        """Tolerate up to ``failures`` failed branches."""
        return cls(max_failures=failures, failed=failed)

    @classmethod
    def tolerate_ratio(cls, ratio: float, *, failed: FailedBranches = "skip") -> FailurePolicy:
        """Tolerate failed branches up to ``ratio`` (0–1) of all branches, judged at the end."""
        return cls(max_failures=None, max_failure_ratio=ratio, failed=failed)

    @property
    def is_fail_fast(self) -> bool:
        return self.max_failures == 0 and self.max_failure_ratio is None

    def exceeded_early(self, failures: int) -> bool:
        """Whether ``failures`` already breaks the policy, before all branches are known."""
        return self.max_failures is not None and failures > self.max_failures

    def exceeded_at_end(self, failures: int, total: int) -> bool:
        if self.exceeded_early(failures):
            return True
        ratio = self.max_failure_ratio
        return ratio is not None and total > 0 and failures / total > ratio


@dataclass(frozen=True, slots=True)
class Retry:
    """Re-run a failed branch: ``attempts`` in all, waiting ``base_delay * factor**n`` (capped at
    ``max_delay``) between them, each wait stretched by up to ``jitter`` of itself at random."""

    attempts: int = 3
    base_delay: float = 0.05
    factor: float = 2.0
    max_delay: float = 5.0
    jitter: float = 0.5
    retry_on: tuple[type[BaseException], ...] = (Exception,)

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise InvalidMapOptionsError(f"Retry.attempts must be >= 1, got {self.attempts}")
        if min(self.base_delay, self.factor, self.max_delay, self.jitter) < 0:
            raise InvalidMapOptionsError("Retry delays, factor and jitter must be >= 0")
        if not self.max_delay * (1.0 + self.jitter) <= threading.TIMEOUT_MAX:
            raise InvalidMapOptionsError(
                f"Retry.max_delay with its jitter must be at most {threading.TIMEOUT_MAX:.0f} s "
                "(threading.TIMEOUT_MAX), the longest a thread can wait"
            )

    def delay(self, failed_attempts: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after the ``failed_attempts``-th failure (1-based)."""
        try:
            grown = self.base_delay * self.factor ** (failed_attempts - 1)
        except OverflowError:  # thousands of retries: the cap has long been reached
            grown = self.max_delay
        base = min(self.max_delay, grown)
        draw = (rng or random).random()
        return base * (1.0 + self.jitter * draw)

    def should_retry(self, error: BaseException, failed_attempts: int) -> bool:
        return failed_attempts < self.attempts and isinstance(error, self.retry_on)


@dataclass(frozen=True, slots=True)
class MapOptions:
    """Everything about how one map runs its branches, beyond what it runs.

    - ``max_concurrency``: at most this many branches at once (sync and async); ``None`` means
      the executor's width.
    - ``failure_policy``: see ``FailurePolicy``; default fail-fast.
    - ``retry``: a ``Retry``, or ``None`` for one attempt.
    - ``timeout``: seconds one branch (all its attempts) may take; ``None`` for no limit.
    - ``first_k``: finish once this many branches succeeded; the rest are cancelled.
    - ``task_key``: a state field name, or a function of the branch's input state, giving each
      branch a stable key (used for its child app id) instead of its position.
    - ``executor``: an executor or a zero-argument factory for this map only.
    - ``lookahead``: how many branches may finish ahead of the one ``reduce`` waits for
      (default: 4 × concurrency, at least 64).
    """

    max_concurrency: int | None = None
    failure_policy: FailurePolicy = field(default_factory=FailurePolicy)
    retry: Retry | None = None
    timeout: float | None = None
    first_k: int | None = None
    task_key: TaskKey = None
    executor: Executor | Callable[[], Executor] | None = None
    lookahead: int | None = None

    def __post_init__(self) -> None:
        for name in ("max_concurrency", "first_k", "lookahead"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise InvalidMapOptionsError(
                    f"MapOptions.{name} must be an int >= 1, got {value!r}"
                )
        if self.timeout is not None and not 0 < self.timeout <= threading.TIMEOUT_MAX:
            raise InvalidMapOptionsError(
                f"MapOptions.timeout must be > 0 and at most {threading.TIMEOUT_MAX:.0f} s "
                f"(threading.TIMEOUT_MAX), got {self.timeout}"
            )
        if self.task_key is not None and not (
            isinstance(self.task_key, str) or callable(self.task_key)
        ):
            raise InvalidMapOptionsError(
                "MapOptions.task_key must be a state field name or a function of the branch state"
            )
