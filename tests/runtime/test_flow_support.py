"""flow_support: the build-time pieces the in-process build and the emitted module share."""

from __future__ import annotations

from typing import Any

from flowc.runtime import FunctionBasedAction
from flowc.runtime.flow_support import branch_inputs
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
