"""flow_support: the build-time pieces the in-process build and the emitted module share."""

from __future__ import annotations

from typing import Any

import pytest

from flowc.errors import FlowBuildError, Span
from flowc.runtime import FunctionBasedAction
from flowc.runtime.executors import MultiThreadedExecutor
from flowc.runtime.flow_support import branch_inputs, dask_timeout, map_executor
from flowc.runtime.graph import GraphBuilder
from flowc.runtime.parallelism import RunnableGraph


def ask(state: Any, tone: str = "plain", __context: Any = None) -> Any:
    return state


def say(state: Any, lang: str, tone: str = "plain") -> Any:
    return state


def test_branch_inputs_lists_every_input_once_in_first_seen_order_without_the_context() -> None:
    first = FunctionBasedAction(ask, ["prompt"], ["answer"], {}, "ask")
    second = FunctionBasedAction(say, ["answer"], ["answer"], {}, "say")
    graph = GraphBuilder().with_actions(first, second).with_transitions(("ask", "say")).build()
    assert branch_inputs([first, RunnableGraph(graph, "ask", ["say"])]) == ["tone", "lang"]
    assert branch_inputs([]) == []


@pytest.mark.parametrize("width", ["eight", 0, -2, 2.5, True])
def test_an_executor_width_must_be_a_whole_number_of_at_least_one(width: Any) -> None:
    where = Span("f.flow", 5, 3)
    with pytest.raises(FlowBuildError) as caught:
        map_executor("threads", width, where)
    assert caught.value.code == "F412" and caught.value.span == where
    assert caught.value.hints == ("write `executor threads 8`",)


def test_an_executor_option_is_a_factory_of_one_pool_per_map_invocation() -> None:
    make = map_executor("threads", 3)
    first, second = make(), make()
    assert isinstance(first, MultiThreadedExecutor) and first.max_concurrency == 3
    assert first is not second
    first.shutdown()
    second.shutdown()
    with pytest.raises(FlowBuildError, match="needs the scheduler's address"):
        map_executor("dask", None)


def test_the_dask_connect_timeout_is_ten_seconds_unless_flowc_dask_timeout_says(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("FLOWC_DASK_TIMEOUT", raising=False)
    assert dask_timeout() == 10.0
    monkeypatch.setenv("FLOWC_DASK_TIMEOUT", " 2.5 ")
    assert dask_timeout() == 2.5
    for bad in ("0", "-1", "inf", "nan", "soon"):
        monkeypatch.setenv("FLOWC_DASK_TIMEOUT", bad)
        with pytest.raises(FlowBuildError) as caught:
            dask_timeout()
        assert caught.value.code == "F412" and "FLOWC_DASK_TIMEOUT" in caught.value.message
