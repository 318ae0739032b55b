"""Conditions: when(), expr(), default and ~cond; reads, names, and errors naming the transition."""

from __future__ import annotations

import copy
from dataclasses import FrozenInstanceError, replace

import pytest

from flowc.errors import FlowRuntimeError, FlowSyntaxError, Span
from flowc.runtime import ApplicationBuilder, Condition, State, action, default, expr, when
from flowc.runtime.conditions import from_expression
from flowc.runtime.expression import parse_expression, to_source


def test_when_holds_when_every_key_equals_its_value():
    condition = when(done=False, mode="fast")
    assert isinstance(condition, Condition)
    assert condition(State({"done": False, "mode": "fast"}))
    assert not condition(State({"done": False, "mode": "slow"}))
    assert set(condition.reads) == {"done", "mode"}


def test_expr_is_interpreted_and_reads_the_keys_it_names():
    condition = expr("counter < 10 and not done")
    assert condition(State({"counter": 3, "done": False}))
    assert not condition(State({"counter": 10, "done": False}))
    assert set(condition.reads) == {"counter", "done"}
    assert "counter < 10" in condition.name


def test_default_always_holds_and_reads_nothing():
    assert default(State({}))
    assert tuple(default.reads) == ()


def test_negation_inverts_the_condition_and_keeps_its_reads():
    negated = ~when(done=True)
    assert negated(State({"done": False}))
    assert not negated(State({"done": True}))
    assert tuple(negated.reads) == ("done",)
    assert negated.name != when(done=True).name


def test_a_condition_from_a_parsed_expression_is_named_by_its_canonical_text():
    written = "round<3 and (k1 != 0)"
    condition = from_expression(parse_expression(written))
    assert condition.name == to_source(parse_expression(written)) == "round < 3 and k1 != 0"
    assert condition({"round": 1, "k1": 2}) and not condition({"round": 3, "k1": 2})
    assert condition.reads == ("round", "k1")


def test_a_condition_named_on_first_read_behaves_as_the_plain_condition_of_that_name():
    node = parse_expression("round<3")
    printed = from_expression(node, origin=Span("f.flow", 2, 1, 2, 8))
    plain = Condition(node.reads, node.evaluate, "round < 3")
    assert isinstance(printed, Condition)
    assert printed == plain and plain == printed and hash(printed) == hash(plain)
    assert printed != Condition(node.reads, node.evaluate, "round<3")
    assert repr(printed) == repr(replace(plain, origin=printed.origin))
    assert (~printed).name == "~round < 3" and (printed & plain).name == "round < 3 & round < 3"
    moved = replace(printed, origin=None)
    assert moved == plain and moved.origin is None and copy.copy(printed) == plain
    with pytest.raises(FrozenInstanceError):
        printed.name = "other"  # type: ignore[misc]


def test_a_condition_from_an_expression_is_the_printed_condition_made_by_its_constructor():
    from flowc.runtime.conditions import PrintedCondition

    node = parse_expression("round<3")
    origin = Span("f.flow", 2, 1, 2, 8)
    fast = from_expression(node, origin)
    made = PrintedCondition(node.reads, node.evaluate, origin=origin, source=node)
    assert type(fast) is type(made) is PrintedCondition
    for slot in ("reads", "evaluate", "is_default", "origin", "_source"):
        assert getattr(fast, slot) is getattr(made, slot), slot
    assert fast.name == made.name == "round < 3" and fast == made


def test_conditions_evaluate_on_a_plain_mapping_too():
    assert expr("len(items) == 2")({"items": [1, 2]})


@pytest.mark.parametrize(
    "text", ["__import__('os')", "counter.__class__", "open('x')", "counter <", "a = 1"]
)
def test_unsafe_or_malformed_expressions_are_rejected_when_the_condition_is_built(text):
    with pytest.raises(ValueError) as caught:
        expr(text)
    assert isinstance(caught.value, FlowSyntaxError)
    assert caught.value.code.startswith("F11")


def test_deep_nesting_is_a_clear_error_not_a_recursion_error():
    with pytest.raises(FlowSyntaxError):
        expr("(" * 500 + "x" + ")" * 500)


# -- inside an application: a condition failure names the key and the transition --


@action(reads=[], writes=["step"])
def start(state: State) -> State:
    return state.update(step=1)


@action(reads=[], writes=[])
def finish(state: State) -> State:
    return state


def app_with(condition: Condition, **values: object):
    return (
        ApplicationBuilder()
        .with_actions(start=start, finish=finish)
        .with_transitions(("start", "finish", condition))
        .with_state(**values)
        .with_entrypoint("start")
        .build()
    )


@pytest.mark.parametrize("condition", [expr("ready"), when(ready=True)])
def test_a_condition_reading_a_missing_key_names_the_key_and_the_transition(condition):
    app = app_with(condition)
    with pytest.raises(KeyError) as caught:
        app.run(halt_after=["finish"])
    error = caught.value
    assert isinstance(error, FlowRuntimeError)
    message = str(error)
    assert "'ready'" in message
    assert "from 'start' to 'finish'" in message


def test_a_condition_that_fails_on_types_names_the_transition():
    app = app_with(expr("count > 3"), count="many")
    with pytest.raises(FlowRuntimeError) as caught:
        app.run(halt_after=["finish"])
    assert isinstance(caught.value, TypeError)
    assert "from 'start' to 'finish'" in str(caught.value)


def test_after_a_condition_error_the_completed_step_is_kept():
    app = app_with(expr("ready"))
    with pytest.raises(KeyError):
        app.run(halt_after=["finish"])
    assert app.state["step"] == 1
