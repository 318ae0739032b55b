"""Graphs: built once from actions and ordered transitions, validated, reusable across apps."""

from __future__ import annotations

import threading

import pytest

from flowc.errors import FlowCheckError, FlowError, FlowRuntimeError, Span
from flowc.runtime import ApplicationBuilder, Graph, GraphBuilder, State, action, default, expr
from flowc.runtime.action import ActionDefinitionError, InvalidActionResultError
from flowc.runtime.builder import ApplicationDefinitionError
from flowc.runtime.conditions import ConditionEvaluationError, ConditionKeyError
from flowc.runtime.graph import (
    DuplicateActionError,
    GraphDefinitionError,
    Transition,
    UnknownActionError,
)
from flowc.runtime.state import StateTypeError
from flowc.runtime.step import (
    AsyncActionInSyncRunError,
    MissingInputError,
    MissingWriteError,
    UndeclaredWriteError,
)


@action(reads=["n"], writes=["n"])
def increment(state: State) -> State:
    return state.update(n=state["n"] + 1)


@action(reads=[], writes=["route"])
def small(state: State) -> State:
    return state.update(route="small")


@action(reads=[], writes=["route"])
def large(state: State) -> State:
    return state.update(route="large")


def routed_graph(*transitions: tuple) -> Graph:
    return (
        GraphBuilder()
        .with_actions(increment=increment, small=small, large=large)
        .with_transitions(*transitions)
        .build()
    )


def run(graph: Graph, n: int) -> State:
    app = ApplicationBuilder().with_graph(graph).with_entrypoint("increment")
    _, _, state = app.with_state(n=n).build().run(halt_after=["small", "large"])
    return state


def test_a_built_graph_lists_its_actions_and_transitions():
    graph = routed_graph(("increment", "small"))
    assert {a.name for a in graph.actions} == {"increment", "small", "large"}
    (transition,) = graph.transitions
    assert isinstance(transition, Transition)
    assert (transition.from_, transition.to) == ("increment", "small")


def test_the_first_matching_transition_wins():
    graph = routed_graph(
        ("increment", "small", expr("n < 10")),
        ("increment", "large", expr("n < 100")),
        ("increment", "small", default),
    )
    assert run(graph, 1)["route"] == "small"
    assert run(graph, 50)["route"] == "large"
    assert run(graph, 500)["route"] == "small"


def test_a_list_of_sources_makes_one_transition_from_each():
    graph = (
        GraphBuilder()
        .with_actions(small=small, large=large, increment=increment)
        .with_transitions((["small", "large"], "increment"))
        .build()
    )
    assert sorted(t.from_ for t in graph.transitions) == ["large", "small"]


def test_a_graph_is_reusable_by_many_applications():
    graph = routed_graph(("increment", "small", expr("n < 10")), ("increment", "large"))
    assert [run(graph, n)["route"] for n in (1, 20, 2)] == ["small", "large", "small"]


def test_a_node_makes_its_plan_when_a_step_first_needs_it_and_keeps_it():
    graph = routed_graph(("increment", "small", expr("n < 10")), ("increment", "large"))
    assert all(graph.node(name).ready_plan is None for name in ("increment", "small", "large"))
    run(graph, 1)
    first = graph.node("increment").ready_plan
    assert first is not None and first.action is graph.get_action("increment")
    assert graph.node("small").ready_plan is not None
    assert graph.node("large").ready_plan is None  # never reached
    run(graph, 20)
    assert graph.node("increment").ready_plan is first
    assert graph.node("large").plan is graph.node("large").ready_plan


def test_threads_asking_a_fresh_node_for_its_plan_at_once_get_equivalent_plans():
    graph = routed_graph(("increment", "small"))
    node = graph.node("increment")
    start = threading.Barrier(8)
    plans: list = []

    def ask() -> None:
        start.wait()
        plans.append(node.plan)

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(plans) == 8 and node.ready_plan in plans
    assert {(p.action, p.call, p.writes, p.plain) for p in plans} == {
        (node.action, increment, frozenset({"n"}), True)
    }


def test_a_transition_to_an_unknown_action_is_an_error_with_a_did_you_mean_hint():
    with pytest.raises(ValueError) as caught:
        routed_graph(("increment", "smal"))
    error = caught.value
    assert isinstance(error, FlowCheckError)
    assert error.code.startswith("F2")
    assert "'smal'" in str(error)
    assert any("small" in hint for hint in error.hints)


def test_two_actions_with_one_name_are_an_error():
    with pytest.raises(FlowCheckError) as caught:
        GraphBuilder().with_actions(small, small.with_name("small")).build()
    assert "'small'" in str(caught.value)
    assert caught.value.code.startswith("F2")


def test_a_malformed_transition_is_an_error():
    with pytest.raises(FlowCheckError):
        routed_graph(("increment",))
    with pytest.raises(FlowCheckError):
        routed_graph(("increment", "small", "n < 3"))


def test_next_action_picks_the_target_of_the_first_holding_transition():
    graph = routed_graph(("increment", "small", expr("n < 10")), ("increment", "large"))
    assert graph.next_action("increment", State({"n": 3})).name == "small"
    assert graph.next_action("increment", State({"n": 30})).name == "large"
    assert graph.next_action("small", State({"n": 3})) is None


def test_next_action_takes_a_state_or_a_plain_mapping_and_names_unknown_actions():
    graph = routed_graph(("increment", "small", expr("n < 10")), ("increment", "large"))
    assert graph.next_action("increment", {"n": 3}).name == "small"
    with pytest.raises(FlowCheckError, match="'incremnt'") as caught:
        graph.next_action("incremnt", State({"n": 3}))
    assert any("increment" in hint for hint in caught.value.hints)


def test_get_action_and_has_action_look_actions_up_by_name():
    graph = routed_graph()
    assert graph.get_action("small").name == "small" and graph.has_action("large")
    assert not graph.has_action("medium")
    with pytest.raises(FlowCheckError, match="'medium'"):
        graph.get_action("medium")


def test_transitions_keep_their_order_and_their_origin():
    span = Span("flow.flow", 3, 5)
    graph = routed_graph(
        Transition("increment", "small", expr("n < 10"), origin=span), ("increment", "large")
    )
    assert [(t.from_, t.to) for t in graph.transitions] == [
        ("increment", "small"),
        ("increment", "large"),
    ]
    assert graph.transitions[0].origin == span and graph.transitions[1].condition is default


def test_every_core_error_is_a_flow_error_and_the_builtin_burr_raises():
    expected = {
        GraphDefinitionError: (FlowCheckError, ValueError),
        UnknownActionError: (FlowCheckError, ValueError),
        DuplicateActionError: (FlowCheckError, ValueError),
        ApplicationDefinitionError: (FlowCheckError, ValueError),
        StateTypeError: (FlowRuntimeError, TypeError),
        ActionDefinitionError: (FlowRuntimeError, ValueError),
        InvalidActionResultError: (FlowRuntimeError, TypeError),
        MissingInputError: (FlowRuntimeError, ValueError),
        UndeclaredWriteError: (FlowRuntimeError, ValueError),
        MissingWriteError: (FlowRuntimeError, ValueError),
        AsyncActionInSyncRunError: (FlowRuntimeError, ValueError),
        ConditionKeyError: (FlowRuntimeError, KeyError),
        ConditionEvaluationError: (FlowRuntimeError, TypeError),
    }
    for error, bases in expected.items():
        assert issubclass(error, FlowError) and all(issubclass(error, b) for b in bases), error
    codes = {error.default_code for error in expected}
    assert {"F260", "F261", "F262", "F264", "F501", "F507", "F502", "F503", "F504"} <= codes
    assert {"F505", "F506", "F514", "F515"} <= codes


def test_a_graph_from_outgoing_edges_is_the_graph_of_those_transitions():
    span = Span("f.flow", 3, 1, 3, 9)
    outgoing = {
        "increment": [("small", expr("n < 10"), span), ("large", default, None)],
        "small": [("large", default, span)],
        "large": [],
    }
    arrows = [(source, *edge) for source, edges in outgoing.items() for edge in edges]
    actions = [increment.with_name("increment"), small.with_name("small"), large.with_name("large")]
    from_outgoing = Graph.from_outgoing({a.name: a for a in actions}, outgoing)
    plain = Graph(actions, [Transition(*arrow) for arrow in arrows])
    assert from_outgoing.transitions == plain.transitions
    assert [t.origin for t in from_outgoing.transitions] == [span, None, span]
    assert from_outgoing.transitions[0] is from_outgoing.transitions[0]  # made once, then kept
    assert repr(from_outgoing) == repr(plain)
    assert from_outgoing.actions == plain.actions == actions
    for n in (1, 50):
        state = State({"n": n})
        assert (
            from_outgoing.next_action("increment", state).name
            == plain.next_action("increment", state).name
        )
    for graph in (from_outgoing, plain):
        assert graph.node("small").always is graph.node("large")
        assert graph.node("increment").always is None
        assert [edge[1].name for edge in graph.node("increment").edges] == ["small", "large"]
        assert graph.node("large").edges == ()
    steps = {a.name: a for a in actions}
    with pytest.raises(UnknownActionError) as unknown:
        Graph.from_outgoing(steps, {"increment": [("smal", default, span)]})
    assert unknown.value.span == span and "did you mean 'small'?" in unknown.value.hints
    with pytest.raises(UnknownActionError) as unknown_source:
        Graph.from_outgoing(steps, {"incremnt": [("small", default, span)]})
    assert "names 'incremnt'" in unknown_source.value.message
    with pytest.raises(DuplicateActionError):
        Graph([*actions, actions[0]], [])


def test_a_graph_reports_the_first_bad_transition_in_the_order_given():
    actions = [increment.with_name("increment"), small.with_name("small")]
    transitions = [Transition("small", "nowhere"), Transition("increment", "elsewhere")]
    with pytest.raises(UnknownActionError) as unknown:
        Graph(actions, transitions)
    assert "names 'nowhere'" in unknown.value.message
    with pytest.raises(UnknownActionError) as unknown_source:
        Graph(actions, [Transition("nothing", "small")])
    assert "names 'nothing'" in unknown_source.value.message


def test_a_failing_condition_names_its_transition_in_a_graph_from_outgoing_edges():
    span = Span("f.flow", 3, 1, 3, 9)
    graph = Graph.from_outgoing(
        {"increment": increment.with_name("increment"), "small": small.with_name("small")},
        {"increment": [("small", expr("missing < 1"), span)]},
    )
    with pytest.raises(ConditionKeyError) as caught:
        graph.next_action("increment", State({"n": 1}))
    assert "from 'increment' to 'small'" in caught.value.message
