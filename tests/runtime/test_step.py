"""One step (``run_action``): inputs are resolved or reported missing, the action is called,
and what it wrote is checked against what it declared — the same rules for every kind of
action, sync or async. Exceptions from the action keep their traceback and gain a note."""

from __future__ import annotations

import asyncio
import traceback
from typing import Any

import pytest

from flowc import FlowError, FlowRuntimeError, Span
from flowc.runtime import Action, SingleStepAction, State, action
from flowc.runtime.action import create_action
from flowc.runtime.application import ApplicationContext, arun_action, run_action
from flowc.runtime.step import (
    AsyncActionInSyncRunError,
    MissingInputError,
    MissingWriteError,
    UndeclaredWriteError,
)


def run(act: Any, state: dict | None = None, inputs: dict | None = None, context: Any = None):
    return run_action(create_action(act), State(state or {}), inputs, context)


# -- inputs ---------------------------------------------------------------------------------


@action(reads=[], writes=["out"])
def greet(state: State, name: str, punctuation: str = "!") -> State:
    return state.update(out=f"hi {name}{punctuation}")


def test_a_missing_input_is_a_value_error_naming_the_action_and_the_input() -> None:
    with pytest.raises(MissingInputError) as caught:
        run(greet)
    error = caught.value
    assert isinstance(error, ValueError) and isinstance(error, FlowRuntimeError)
    assert error.code == "F501"
    assert "action 'greet'" in str(error) and "'name'" in str(error)


@action(reads=["item"], writes=["out"])
def takes_item(state: State, item: int) -> State:
    return state.update(out=item)


def test_a_missing_input_named_after_a_read_key_says_to_read_the_state() -> None:
    """``def f(state, item)`` in a map over items: the item is in the state, not an input."""
    with pytest.raises(MissingInputError) as caught:
        run(takes_item, {"item": 3})
    assert any('read state["item"]' in hint for hint in caught.value.hints)
    with pytest.raises(MissingInputError) as other:
        run(greet)  # 'name' is no key greet reads: no such hint
    assert not any("state[" in hint for hint in other.value.hints)


def test_optional_inputs_take_their_defaults_and_extra_inputs_are_ignored() -> None:
    assert run(greet, inputs={"name": "ada", "unused": 1})[1]["out"] == "hi ada!"
    assert run(greet, inputs={"name": "ada", "punctuation": "?"})[1]["out"] == "hi ada?"


def test_a_bound_parameter_is_not_an_input() -> None:
    assert run(greet.bind(name="bo"))[1]["out"] == "hi bo!"


class Reads(Action):
    """A class declaring its inputs, including the application context."""

    @property
    def reads(self) -> list[str]:
        return []

    @property
    def writes(self) -> list[str]:
        return ["seen"]

    @property
    def inputs(self) -> list[str]:
        return ["key", "__context"]

    def run(self, state: State, key: str, **run_kwargs: Any) -> dict:
        # (a `__context` parameter would be name-mangled inside a class body)
        context = run_kwargs["__context"]
        return {"seen": (key, context.app_id, context.application_id)}

    def update(self, result: dict, state: State) -> State:
        return state.update(seen=result["seen"])


def test_a_class_asking_for_context_receives_it_beside_its_inputs() -> None:
    context = ApplicationContext(
        app_id="app-1", partition_key=None, sequence_id=0, action_name="reads"
    )
    _, state = run_action(Reads().with_name("reads"), State(), {"key": "k"}, context)
    assert state["seen"] == ("k", "app-1", "app-1")
    with pytest.raises(MissingInputError, match="'key'"):
        run_action(Reads().with_name("reads"), State(), {}, context)


def test_a_function_with_a_context_parameter_receives_the_context() -> None:
    @action(reads=[], writes=["who"])
    def who(state: State, __context: ApplicationContext) -> State:
        return state.update(who=__context.action_name)

    context = ApplicationContext(app_id="a", partition_key=None, sequence_id=3, action_name="who")
    assert run(who, context=context)[1]["who"] == "who"


# -- writes ---------------------------------------------------------------------------------


@action(reads=[], writes=["a"])
def writes_b_too(state: State) -> State:
    return state.update(a=1, b=2)


@action(reads=[], writes=["a", "b"])
def writes_only_a(state: State) -> State:
    return state.update(a=1)


class TwoPhaseWritesB(Action):
    @property
    def reads(self) -> list[str]:
        return []

    @property
    def writes(self) -> list[str]:
        return ["a"]

    def run(self, state: State) -> dict:
        return {}

    def update(self, result: dict, state: State) -> State:
        return state.update(a=1, b=2)


class SingleStepWritesB(SingleStepAction):
    @property
    def reads(self) -> list[str]:
        return []

    @property
    def writes(self) -> list[str]:
        return ["a"]

    def run_and_update(self, state: State, **kwargs: Any) -> tuple[dict, State]:
        return {}, state.update(a=1, b=2)


@pytest.mark.parametrize(
    "undeclared",
    [
        writes_b_too,
        TwoPhaseWritesB().with_name("writes_b_too"),
        SingleStepWritesB().with_name("writes_b_too"),
    ],
    ids=["function", "two-phase class", "single-step class"],
)
def test_an_undeclared_write_is_an_error_naming_action_and_key_for_every_kind(
    undeclared: Any,
) -> None:
    with pytest.raises(UndeclaredWriteError) as caught:
        run(undeclared)
    error = caught.value
    assert isinstance(error, ValueError) and error.code == "F502"
    assert "action 'writes_b_too'" in str(error) and "'b'" in str(error)


def test_a_declared_write_left_unwritten_is_an_error_naming_action_and_key() -> None:
    with pytest.raises(MissingWriteError) as caught:
        run(writes_only_a)
    error = caught.value
    assert isinstance(error, ValueError) and error.code == "F503"
    assert "action 'writes_only_a'" in str(error) and "'b'" in str(error)


def test_a_declared_key_the_state_already_holds_need_not_be_rewritten() -> None:
    assert run(writes_only_a, {"b": 0})[1].get_all() == {"a": 1, "b": 0}


def test_writes_are_checked_across_several_updates_and_deletions() -> None:
    @action(reads=[], writes=["a", "b", "gone"])
    def many(state: State) -> State:
        return state.update(a=1).append(b=2).wipe(delete=["gone"])

    @action(reads=[], writes=["a"])
    def deletes(state: State) -> State:
        return state.update(a=1).wipe(delete=["gone"])

    assert run(many, {"gone": 1})[1].get_all() == {"a": 1, "b": [2]}
    with pytest.raises(UndeclaredWriteError, match="'gone'"):
        run(deletes, {"gone": 1})


def test_a_state_built_from_scratch_is_checked_by_comparing_values() -> None:
    @action(reads=["keep"], writes=["a"])
    def rebuilt(state: State) -> State:
        return State({"keep": state["keep"], "a": 1, "sneaky": 2})

    with pytest.raises(UndeclaredWriteError, match="'sneaky'"):
        run(rebuilt, {"keep": [1]})


def test_a_state_derived_outside_the_action_is_checked_against_the_given_state() -> None:
    @action(reads=[], writes=["a"])
    def ok(state: State) -> State:
        return state.update(a=1)

    derived = State({"x": 1}).update(y=2)  # carries a record of its own writes
    _, after = run_action(create_action(ok), derived, None, None)
    assert after.get_all() == {"x": 1, "y": 2, "a": 1}


def test_the_state_from_one_step_starts_the_next_with_an_empty_record() -> None:
    bump = create_action(action(reads=["n"], writes=["n"])(lambda s: s.update(n=s["n"] + 1)))
    _, state = run_action(bump.with_name("bump"), State({"n": 0}), None, None)
    _, state = run_action(bump.with_name("bump"), state, None, None)
    assert state["n"] == 2


# -- async ----------------------------------------------------------------------------------


@action(reads=["n"], writes=["n"])
async def slow_bump(state: State) -> State:
    await asyncio.sleep(0)
    return state.update(n=state["n"] + 1)


def test_an_async_action_runs_under_arun_action_and_sync_ones_run_inline() -> None:
    _, state = asyncio.run(arun_action(create_action(slow_bump), State({"n": 1}), None, None))
    assert state["n"] == 2
    _, state = asyncio.run(arun_action(create_action(greet), State(), {"name": "x"}, None))
    assert state["out"] == "hi x!"


def test_reaching_an_async_action_from_sync_code_fails_clearly() -> None:
    with pytest.raises(AsyncActionInSyncRunError, match="'slow_bump' is async") as caught:
        run(slow_bump, {"n": 1})
    assert caught.value.code == "F504" and "arun" in str(caught.value)


def test_async_actions_have_their_writes_checked_too() -> None:
    @action(reads=[], writes=[])
    async def sneaky(state: State) -> State:
        return state.update(x=1)

    with pytest.raises(UndeclaredWriteError, match="'x'"):
        asyncio.run(arun_action(create_action(sneaky), State(), None, None))


# -- exceptions -----------------------------------------------------------------------------


def test_an_exception_from_an_action_is_the_same_object_with_a_note_and_its_traceback() -> None:
    @action(reads=[], writes=[])
    def explode(state: State) -> State:
        raise ZeroDivisionError("boom")

    origin = Span("etl.flow", 12, 5)
    with pytest.raises(ZeroDivisionError, match="boom") as caught:
        run_action(create_action(explode).with_origin(origin), State(), None, None)
    error = caught.value
    assert "flowc: in action 'explode' at etl.flow:12:5" in error.__notes__
    frames = [frame.name for frame in traceback.extract_tb(error.__traceback__)]
    assert frames[-1] == "explode"


def test_step_errors_are_flow_errors_that_also_subclass_the_builtin_burr_raises() -> None:
    for error in (MissingInputError, UndeclaredWriteError, MissingWriteError):
        assert issubclass(error, FlowError) and issubclass(error, ValueError)
    assert issubclass(AsyncActionInSyncRunError, FlowError)
