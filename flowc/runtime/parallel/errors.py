"""Errors raised by parallel actions (codes F520–F529).

Where Burr lets a built-in exception escape (a branch's own ``ValueError``, the ``ValueError``
for a missing context), flowc's error also subclasses that built-in, so code written against
the reference keeps catching it. A branch's own exception is always the ``__cause__``.
"""

from __future__ import annotations

from flowc.errors import FlowRuntimeError


class ParallelError(FlowRuntimeError):
    """Base of the F52x family."""

    default_code = "F520"


class BranchFailedError(ParallelError):
    """A branch raised and the map's failure policy does not tolerate it (F520). ``__cause__``
    is the branch's exception; ``index``, ``task_key``, ``action_name`` and ``app_id`` name it."""

    default_code = "F520"
    index: int = -1
    task_key: str = ""
    action_name: str = ""
    app_id: str = ""


class BranchValueError(BranchFailedError, ValueError):
    """A branch raised a ``ValueError`` (F520)."""


class BranchTypeError(BranchFailedError, TypeError):
    """A branch raised a ``TypeError`` (F520)."""


class BranchKeyError(BranchFailedError, KeyError):
    """A branch raised a ``KeyError`` (F520)."""


class BranchRuntimeError(BranchFailedError, RuntimeError):
    """A branch raised a ``RuntimeError`` (F520)."""


class BranchTimeoutError(ParallelError, TimeoutError):
    """A branch ran longer than its ``MapOptions.timeout`` (F521)."""

    default_code = "F521"


class FailureToleranceExceededError(ParallelError):
    """More branches failed than the failure policy tolerates (F522). ``__cause__`` is the first
    failure's exception; ``failures`` lists every ``BranchFailure`` seen."""

    default_code = "F522"


class NotEnoughSuccessesError(ParallelError):
    """``first_k`` asked for k successes but fewer branches succeeded (F523)."""

    default_code = "F523"


class BranchNotPicklableError(ParallelError, TypeError):
    """A branch must cross a process boundary but part of it cannot be pickled (F524)."""

    default_code = "F524"


class DuplicateTaskKeyError(ParallelError, ValueError):
    """Two branches of one map invocation got the same task key (F525)."""

    default_code = "F525"


class MissingContextError(ParallelError, ValueError):
    """A parallel action ran without the ``__context`` input (F526)."""

    default_code = "F526"


class InvalidMapOptionsError(ParallelError, ValueError):
    """``MapOptions`` (or one of its parts) has an impossible value (F527)."""

    default_code = "F527"


class AsyncTasksInSyncMapError(ParallelError, TypeError):
    """A synchronous parallel action produced async generators or an async reduce (F528)."""

    default_code = "F528"


_TWINS: tuple[tuple[type[BaseException], type[BranchFailedError]], ...] = (
    (KeyError, BranchKeyError),
    (ValueError, BranchValueError),
    (TypeError, BranchTypeError),
    (RuntimeError, BranchRuntimeError),
)


def branch_error_class(error: BaseException) -> type[BranchFailedError]:
    """The ``BranchFailedError`` that also subclasses the built-in the branch raised."""
    for builtin, twin in _TWINS:
        if isinstance(error, builtin):
            return twin
    return BranchFailedError


class InvalidBranchError(ParallelError, ValueError):
    """Something a map asked to run cannot run as a branch (F529)."""

    default_code = "F529"
