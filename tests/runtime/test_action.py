"""Actions: decorated functions and classes declare reads, writes and inputs; ``bind`` and
``with_name`` return new action objects for every kind; results are a State or (dict, State)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from flowc import FlowError
from flowc.runtime import Action, ApplicationBuilder, SingleStepAction, State, action
from flowc.runtime.action import (
    ActionDefinitionError,
    FunctionActionMaker,
    FunctionBasedAction,
    InvalidActionResultError,
    create_action,
)
from flowc.runtime.step import run_action


@action(reads=["prompt"], writes=["llm_output"])
def query_llm(state: State, model: str) -> State:
    return state.update(llm_output=f"{model}: {state['prompt']}")


def one(act: Any, state: State | None = None, **inputs: Any) -> tuple[dict, State]:
    return run_action(create_action(act), state or State({"prompt": "hi"}), inputs, None)


def test_a_decorated_function_stays_callable_and_gains_its_declarations() -> None:
    assert query_llm(State({"prompt": "p"}), model="m")["llm_output"] == "m: p"
    assert query_llm.reads == ["prompt"] and query_llm.writes == ["llm_output"]
    assert create_action(query_llm).name == "query_llm"


def test_bind_and_with_name_return_new_actions_and_leave_the_function_alone() -> None:
    gpt = query_llm.bind(model="gpt-4").with_name("gpt_4_answer")
    o1 = query_llm.bind(model="o1").with_name("o1_answer")
    claude = query_llm.bind(model="claude").with_name("claude_answer")
    assert [a.name for a in (gpt, o1, claude)] == ["gpt_4_answer", "o1_answer", "claude_answer"]
    assert one(gpt)[1]["llm_output"] == "gpt-4: hi"
    assert one(o1)[1]["llm_output"] == "o1: hi"
    assert create_action(query_llm).name == "query_llm"
    assert create_action(query_llm).bound == {}
    named = query_llm.with_name("renamed")
    assert named is not query_llm.with_name("renamed") and named.name == "renamed"


def test_binding_an_unknown_parameter_is_an_error_naming_it() -> None:
    with pytest.raises(ActionDefinitionError, match="'temperature'") as caught:
        query_llm.bind(temperature=0.5)
    assert isinstance(caught.value, ValueError) and caught.value.code == "F506"


def test_a_function_taking_keyword_arguments_accepts_any_bound_name() -> None:
    def flexible(state: State, **options: Any) -> State:
        return state.update(options=options)

    bound = FunctionBasedAction(flexible, [], ["options"], {"temperature": 0.5}, "f")
    assert one(bound)[1]["options"] == {"temperature": 0.5}
    with pytest.raises(ActionDefinitionError, match="'top_k'") as caught:
        FunctionBasedAction(query_llm, [], [], {"model": "m", "top_k": 2}, "g")
    assert "'model'" not in caught.value.message


def test_a_function_may_return_a_result_and_a_state() -> None:
    @action(reads=[], writes=["x"])
    def both(state: State) -> tuple[dict, State]:
        return {"answer": 42}, state.update(x=1)

    result, state = one(both)
    assert result == {"answer": 42} and state["x"] == 1


def test_returning_anything_else_is_an_error_naming_the_action() -> None:
    @action(reads=[], writes=[])
    def bad(state: State) -> dict:
        return {"x": 1}

    with pytest.raises(InvalidActionResultError, match="action 'bad' returned dict") as caught:
        one(bad)
    assert isinstance(caught.value, TypeError) and caught.value.code == "F505"


class Double(Action):
    """A two-phase action: run computes, update folds the result into state."""

    @property
    def reads(self) -> list[str]:
        return ["n"]

    @property
    def writes(self) -> list[str]:
        return ["n"]

    @property
    def inputs(self) -> list[str]:
        return ["factor"]

    def run(self, state: State, factor: int) -> dict:
        return {"n": state["n"] * factor}

    def update(self, result: dict, state: State) -> State:
        return state.update(n=result["n"])


def test_a_class_action_runs_then_updates_and_returns_its_run_result() -> None:
    result, state = run_action(Double().with_name("double"), State({"n": 3}), {"factor": 2}, None)
    assert result == {"n": 6} and state["n"] == 6


def test_bind_on_a_class_action_fills_an_input_and_returns_a_copy() -> None:
    base = Double().with_name("double")
    tripled = base.bind(factor=3)
    assert tripled is not base and base.bound == {} and tripled.bound == {"factor": 3}
    assert run_action(tripled, State({"n": 2}), {}, None)[1]["n"] == 6
    assert base.with_name("other").name == "other" and base.name == "double"


class Both(SingleStepAction):
    @property
    def reads(self) -> list[str]:
        return []

    @property
    def writes(self) -> list[str]:
        return ["done"]

    def run_and_update(self, state: State, **run_kwargs: Any) -> tuple[dict, State]:
        return {"ok": True}, state.update(done=True)


def test_a_single_step_action_computes_result_and_state_in_one_call() -> None:
    result, state = run_action(Both().with_name("both"), State(), {}, None)
    assert result == {"ok": True} and state["done"] is True


def test_an_action_without_a_name_cannot_join_a_graph() -> None:
    with pytest.raises(ActionDefinitionError, match="has no name"):
        create_action(Both())


def test_something_that_is_not_an_action_is_refused_with_a_hint() -> None:
    def plain(state: State) -> State:
        return state

    with pytest.raises(ActionDefinitionError, match="is not an action") as caught:
        create_action(plain)
    assert any("@action" in hint for hint in caught.value.hints)


def test_a_function_without_a_state_parameter_is_refused() -> None:
    with pytest.raises(ActionDefinitionError, match="first parameter"):
        action(reads=[], writes=[])(lambda: None)


def test_parameters_that_are_not_state_or_bound_are_inputs_some_optional() -> None:
    @action(reads=[], writes=["out"])
    def greet(state: State, name: str, punctuation: str = "!") -> State:
        return state.update(out=f"hi {name}{punctuation}")

    fn_action = create_action(greet)
    assert fn_action.inputs == (["name"], ["punctuation"])
    assert fn_action.bind(name="x").inputs == ([], ["punctuation"])
    assert one(greet, State(), name="ada")[1]["out"] == "hi ada!"
    assert one(greet, State(), name="ada", punctuation="?")[1]["out"] == "hi ada?"


def test_async_functions_are_async_actions() -> None:
    @action(reads=[], writes=["x"])
    async def fetch(state: State) -> State:
        await asyncio.sleep(0)
        return state.update(x=1)

    assert create_action(fetch).is_async() and not create_action(query_llm).is_async()


def test_a_program_in_the_reference_style_builds_with_bound_named_copies() -> None:
    app = (
        ApplicationBuilder()
        .with_actions(
            query_llm.bind(model="gpt-4").with_name("gpt_4_answer"),
            query_llm.bind(model="o1").with_name("o1_answer"),
        )
        .with_transitions(("gpt_4_answer", "o1_answer"))
        .with_state(prompt="p")
        .with_entrypoint("gpt_4_answer")
        .build()
    )
    _, _, state = app.run(halt_after=["o1_answer"])
    assert state["llm_output"] == "o1: p"


def test_action_definition_errors_are_flow_errors() -> None:
    assert issubclass(ActionDefinitionError, FlowError)
    assert issubclass(InvalidActionResultError, FlowError)


def _takes(state: Any, n: int, label: str = "x") -> Any:
    return state.update(n=n, label=label)


def _takes_anything(state: Any, **rest: Any) -> Any:
    return state.update(**rest)


def _takes_nothing() -> None:
    return None


@pytest.mark.parametrize("fn", [_takes, _takes_anything])
def test_a_maker_makes_the_action_the_constructor_makes(fn) -> None:
    maker = FunctionActionMaker(fn)
    made = maker.make(["n"], ["n", "label"], {"n": 2}, "a", None)
    built = FunctionBasedAction(fn, ["n"], ["n", "label"], {"n": 2}, "a")
    built.origin = None
    assert type(made) is FunctionBasedAction
    assert vars(made) == vars(built) and list(vars(made)) == list(vars(built))
    assert made.inputs == built.inputs
    state = State({"n": 0})
    assert made.run_and_update(state)[1].get_all() == built.run_and_update(state)[1].get_all()


def test_a_maker_raises_the_constructors_errors() -> None:
    maker = FunctionActionMaker(_takes)
    with pytest.raises(ActionDefinitionError) as by_maker:
        maker.make([], [], {"n": 1, "step": 2}, "a")
    with pytest.raises(ActionDefinitionError) as by_constructor:
        FunctionBasedAction(_takes, [], [], {"n": 1, "step": 2}, "a")
    assert by_maker.value.message == by_constructor.value.message
    assert by_maker.value.hints == by_constructor.value.hints
    assert FunctionActionMaker(_takes_anything).make([], [], {"step": 2}, "b").bound == {"step": 2}
    with pytest.raises(ActionDefinitionError, match="must take the state"):
        FunctionActionMaker(_takes_nothing)
    with pytest.raises(ActionDefinitionError, match="must take the state"):
        FunctionBasedAction(_takes_nothing, [], [])
