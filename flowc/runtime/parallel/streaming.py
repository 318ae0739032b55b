"""Consuming branch results as they complete, while ``reduce`` still gets task order.

``stream_branches(app, halt_after=[...])`` runs ``app.run(...)`` on a helper thread and yields
every ``BranchResult``/``BranchFailure`` of the maps that app runs directly, in completion
order, then a final ``StreamEnd`` carrying what ``run`` returned. A map finds the consumer
through a context variable set in that helper thread.
"""

from __future__ import annotations

import contextvars
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

_BRANCH_SINK: contextvars.ContextVar[Callable[[Any], None] | None] = contextvars.ContextVar(
    "flowc_branch_sink", default=None
)


def current_sink() -> Callable[[Any], None] | None:
    """The streaming consumer of the map running in this thread, if any."""
    return _BRANCH_SINK.get()


@dataclass(frozen=True, slots=True)
class StreamEnd:
    """The last item of ``stream_branches``: what ``Application.run`` returned."""

    action: Any
    result: Any
    state: Any


def stream_branches(
    app: Any, *, halt_after: Sequence[str], inputs: dict[str, Any] | None = None
) -> Iterator[Any]:
    """Run ``app`` until ``halt_after``, yielding branch outcomes as they complete, then a
    ``StreamEnd``. An exception from the run is raised here, after the outcomes before it."""
    events: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()

    def run() -> None:
        _BRANCH_SINK.set(lambda outcome: events.put(("branch", outcome)))
        try:
            action, result, state = app.run(halt_after=list(halt_after), inputs=inputs or {})
        except BaseException as error:
            events.put(("error", error))
        else:
            events.put(("end", StreamEnd(action, result, state)))

    worker = threading.Thread(target=contextvars.Context().run, args=(run,), daemon=True)
    worker.start()
    while True:
        kind, payload = events.get()
        if kind == "branch":
            yield payload
            continue
        worker.join()
        if kind == "error":
            raise payload
        yield payload
        return
