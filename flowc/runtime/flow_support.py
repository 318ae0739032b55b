"""What an application compiled from a ``.flow`` file needs from the runtime at build time, in one
place for both ways of building it: ``flowc.compiler.build`` (in process) and the module
``flowc compile --emit python`` writes, which may import only the runtime. Sharing these
functions, rather than writing them twice, is what keeps the two builds from drifting apart:

- ``assemble_application``: the graph, entry and state made into an ``Application``, resumed
  from a persister or started fresh (F413 when a resume has nothing to resume from);
- ``branch_inputs``: the runtime inputs a map hands on to its branches;
- ``map_executor``: the executor factory a map's ``executor`` option names (F412 for a width
  that is not a whole number of at least 1, or a ``dask`` without an address);
- ``dask_executor``: branches on a Dask cluster, connecting with a bounded timeout
  (``FLOWC_DASK_TIMEOUT`` seconds, default 10) so a dead address fails fast (F412).

Its errors are build errors (F412, F413): raised while the flow's objects are made, before it runs.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from typing import Any

from flowc.errors import FlowBuildError, Span
from flowc.runtime.application import Application
from flowc.runtime.builder import ApplicationBuilder
from flowc.runtime.executors import MultiThreadedExecutor
from flowc.runtime.graph import Graph

F_EXECUTOR = "F412"
F_UNBUILDABLE = "F413"
DASK_TIMEOUT_VARIABLE = "FLOWC_DASK_TIMEOUT"
DEFAULT_DASK_TIMEOUT = 10.0
"""Seconds to wait for a Dask scheduler (Dask's own default, 30 s, is long to wait for a typo)."""


def assemble_application(
    graph: Graph,
    entry: str | None,
    initial: Mapping[str, Any],
    *,
    executor: Any = None,
    persister: Any = None,
    tracker: Any = None,
    app_id: str | None = None,
    partition_key: str | None = None,
    resume: bool = False,
    hooks: Sequence[Any] = (),
) -> Application:
    """The application of a compiled flow: ``graph`` from ``entry`` on ``initial``, or, with
    ``resume=True``, where the run ``app_id`` saved in ``persister`` stopped (``initial`` and
    ``entry`` then serve a run that saved nothing yet)."""
    if resume and (persister is None or app_id is None):
        missing = " and ".join(
            name for name, value in (("persister", persister), ("app_id", app_id)) if value is None
        )
        raise FlowBuildError(
            f"resuming a run needs a persister and the run's app id (no {missing} given)",
            code=F_UNBUILDABLE,
            hints=(
                "pass persister= and app_id= with resume=True "
                "(flowc run: --persist sqlite:PATH --resume APP_ID)",
            ),
        )
    app = ApplicationBuilder().with_graph(graph).with_identifiers(app_id, partition_key)
    if executor is not None:
        app = app.with_parallel_executor(executor)
    if tracker is not None:
        app = app.with_tracker(tracker)
    if hooks:
        app = app.with_hooks(*hooks)
    if persister is not None:
        app = app.with_state_persister(persister)
    if resume:
        app = app.initialize_from(
            persister,
            resume_at_next_action=True,
            default_state=dict(initial),
            default_entrypoint=entry,
        )
    else:
        app = app.with_state(dict(initial)).with_entrypoint(entry)
    return app.build()


def branch_inputs(branches: Iterable[Any]) -> list[str]:
    """Every runtime input the branches' actions take (a map passes them on to each branch),
    in first-seen order, without the runtime's own (``__context``)."""
    found: list[str] = []
    for branch in branches:
        graph = getattr(branch, "graph", None)
        actions = list(graph.actions) if graph is not None else [branch]
        for action in actions:
            raw = action.inputs
            names = [*raw[0], *raw[1]] if isinstance(raw, tuple) else list(raw)
            found.extend(n for n in names if not n.startswith("__"))
    return list(dict.fromkeys(found))


def map_executor(kind: str, arg: Any, origin: Span | None = None) -> Callable[[], Executor]:
    """A zero-argument factory for a built-in ``executor`` option (``threads``, ``processes``,
    ``inline``, ``dask``): each map invocation gets its own pool, closed after it."""
    if kind == "threads":
        return functools.partial(MultiThreadedExecutor, max_concurrency=_width(kind, arg, origin))
    if kind == "inline":
        return functools.partial(MultiThreadedExecutor, max_concurrency=1)
    if kind == "processes":
        return functools.partial(ProcessPoolExecutor, max_workers=_width(kind, arg, origin))
    if kind == "dask":
        if not isinstance(arg, str) or not arg:
            raise FlowBuildError(
                "`executor dask` needs the scheduler's address",
                code=F_EXECUTOR,
                span=origin,
                hints=('write `executor dask "tcp://host:8786"`',),
            )
        return functools.partial(dask_executor, arg)
    raise FlowBuildError(
        f"unknown executor kind '{kind}'",
        code=F_EXECUTOR,
        span=origin,
        hints=("use threads, processes, dask, inline or a module:function factory",),
    )


def _width(kind: str, arg: Any, origin: Span | None) -> int | None:
    if arg is None:
        return None
    if isinstance(arg, int) and not isinstance(arg, bool) and arg >= 1:
        return arg
    raise FlowBuildError(
        f"`executor {kind}` takes a number of workers, got {arg!r}",
        code=F_EXECUTOR,
        span=origin,
        hints=(f"write `executor {kind} 8`",),
    )


def dask_timeout() -> float:
    """Seconds to wait for a Dask scheduler: ``$FLOWC_DASK_TIMEOUT``, else 10."""
    text = os.environ.get(DASK_TIMEOUT_VARIABLE, "").strip()
    if not text:
        return DEFAULT_DASK_TIMEOUT
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds < float("inf"):
        raise FlowBuildError(
            f"{DASK_TIMEOUT_VARIABLE}={text!r} is not a number of seconds above 0",
            code=F_EXECUTOR,
            hints=(f"set e.g. {DASK_TIMEOUT_VARIABLE}=10, or unset it for the default",),
        )
    return seconds


def dask_executor(address: str) -> Executor:
    """``Client(address).get_executor()``: branches on a Dask cluster. Connecting waits at most
    ``dask_timeout()`` seconds; a scheduler that cannot be reached is an F412 naming it."""
    try:
        from distributed import Client
    except ImportError as error:
        raise FlowBuildError(
            "the dask executor needs the 'distributed' package",
            code=F_EXECUTOR,
            hints=("pip install 'flowc[dask]'",),
        ) from error
    timeout = dask_timeout()
    try:
        client = Client(address, timeout=timeout)
    except (OSError, ValueError, TypeError) as error:  # timed out, refused, a malformed address
        raise FlowBuildError(
            f"cannot connect to a Dask scheduler at {address!r}: {error}",
            code=F_EXECUTOR,
            hints=(
                "start one with `dask scheduler` (it prints its tcp:// address) and give that "
                "address",
                f"{DASK_TIMEOUT_VARIABLE} sets how many seconds to wait (now {timeout:g})",
            ),
        ) from error
    return client.get_executor()
