"""The same map on Dask distributed (two worker processes) as on a thread pool."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Generator
from typing import Any

import pytest

from flowc.runtime import action
from flowc.runtime.application import ApplicationBuilder
from flowc.runtime.executors import MultiThreadedExecutor
from flowc.runtime.parallelism import BranchNotPicklableError, MapStates
from flowc.runtime.state import State

distributed = pytest.importorskip("distributed")
cloudpickle = pytest.importorskip("cloudpickle")
cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers need not import tests/


@action(reads=["i"], writes=["out", "pid"])
def work(state: State) -> State:
    return state.update(out=2 * state["i"] + 1, pid=os.getpid())


class FanOut(MapStates):
    def action(self, state: State, inputs: dict[str, Any]) -> Any:
        return work

    def states(self, state: State, context: Any, inputs: dict[str, Any]) -> Generator[State]:
        for i in range(state["n"]):
            yield state.update(i=i)

    def reduce(self, state: State, states: Generator[State]) -> State:
        outs, pids = [], set()
        for sub in states:
            outs.append(sub["out"])
            pids.add(sub["pid"])
        return state.update(outs=outs, pids=sorted(pids))

    @property
    def reads(self) -> list[str]:
        return ["n"]

    @property
    def writes(self) -> list[str]:
        return ["outs", "pids"]


def run_fan_out(executor: Any, **state: Any) -> State:
    app = (
        ApplicationBuilder()
        .with_action(fan_out=FanOut())
        .with_entrypoint("fan_out")
        .with_state(**state)
        .with_parallel_executor(executor)
        .build()
    )
    _, _, final = app.run(halt_after=["fan_out"])
    return final


@pytest.fixture(scope="module")
def client() -> Any:
    cluster = distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
    )
    with cluster, distributed.Client(cluster) as dask_client:
        yield dask_client


def test_a_map_runs_on_dask_worker_processes_with_the_thread_pool_result(client: Any) -> None:
    on_dask = run_fan_out(client.get_executor(), n=20)
    on_threads = run_fan_out(MultiThreadedExecutor(max_concurrency=4), n=20)
    assert on_dask["outs"] == on_threads["outs"] == [2 * i + 1 for i in range(20)]
    assert os.getpid() not in on_dask["pids"]  # every branch ran in a worker process
    assert on_threads["pids"] == [os.getpid()]


def test_an_unpicklable_state_field_is_named_in_a_clear_error(client: Any) -> None:
    with pytest.raises(BranchNotPicklableError, match="state field 'lock'") as caught:
        run_fan_out(client.get_executor(), n=2, lock=threading.Lock())
    assert caught.value.code == "F524"
