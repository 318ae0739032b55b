"""Parallel actions: map a state, an action, or both, over branches and reduce the results.

The public names of the reference page (``MapStates``, ``MapActions``, ``MapActionsAndStates``,
``RunnableGraph``, ``SubGraphTask``, ``TaskBasedParallelAction``) plus what it left for later
(``MapOptions``, ``FailurePolicy``, ``Retry``, streaming). The code lives in
``flowc.runtime.parallel``; see docs/parallelism.md.
"""

from flowc.runtime.parallel.errors import (
    AsyncTasksInSyncMapError,
    BranchFailedError,
    BranchNotPicklableError,
    BranchTimeoutError,
    DuplicateTaskKeyError,
    FailureToleranceExceededError,
    InvalidBranchError,
    InvalidMapOptionsError,
    MissingContextError,
    NotEnoughSuccessesError,
    ParallelError,
)
from flowc.runtime.parallel.maps import (
    MapActions,
    MapActionsAndStates,
    MapStates,
    TaskBasedParallelAction,
)
from flowc.runtime.parallel.options import FailurePolicy, MapOptions, Retry
from flowc.runtime.parallel.outcomes import BranchFailure, BranchResult
from flowc.runtime.parallel.streaming import StreamEnd, stream_branches
from flowc.runtime.parallel.tasks import RunnableGraph, SubGraphTask

__all__ = [
    "AsyncTasksInSyncMapError",
    "BranchFailedError",
    "BranchFailure",
    "BranchNotPicklableError",
    "BranchResult",
    "BranchTimeoutError",
    "DuplicateTaskKeyError",
    "FailurePolicy",
    "FailureToleranceExceededError",
    "InvalidBranchError",
    "InvalidMapOptionsError",
    "MapActions",
    "MapActionsAndStates",
    "MapOptions",
    "MapStates",
    "MissingContextError",
    "NotEnoughSuccessesError",
    "ParallelError",
    "Retry",
    "RunnableGraph",
    "StreamEnd",
    "SubGraphTask",
    "TaskBasedParallelAction",
    "stream_branches",
]
