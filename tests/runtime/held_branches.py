"""Branches that stay blocked until the test lets them go, for tests that a map did not wait for
some of its branches (a failure, a timeout, first-k).

Timing the map against a sleep fails on a loaded machine; this does not. A held branch blocks
until ``release()`` or until its patience runs out: a map that waited for one returns only
after that, and ``finished_on_pool`` then says so.

The map's own thread may run a branch itself while its pool's threads are slow to start (a
loaded machine) — unless the map has a timeout or first-k — and it cannot return while it
does. A branch it holds gives up sooner (after ``patience``) than one any other thread holds
(three times that), so that even then the map returns while every other held branch is still
blocked; ``held_by_caller`` counts those cases.
"""

from __future__ import annotations

import threading
from types import TracebackType


class HeldBranches:
    def __init__(self, patience: float = 2.0) -> None:
        self.patience = patience
        self._caller = threading.get_ident()
        self._released = threading.Event()
        self._lock = threading.Lock()
        self.finished_on_pool = 0
        self.held_by_caller = 0

    def hold(self) -> None:
        """Block the calling branch until the test releases it (or its patience runs out)."""
        if threading.get_ident() == self._caller:
            with self._lock:
                self.held_by_caller += 1
            self._released.wait(self.patience)
            return
        self._released.wait(3 * self.patience)
        with self._lock:
            self.finished_on_pool += 1

    def release(self) -> None:
        self._released.set()

    def __enter__(self) -> HeldBranches:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()  # whatever happened, no pool thread stays blocked after the test
