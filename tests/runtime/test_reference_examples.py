"""Every code example of the reference page (shared/reference/parallelism-api.txt) runs on flowc.

The examples are copied with only the imports changed, `_query_my_llm` replaced by a
deterministic function, and the page's own slips fixed minimally (each marked `# page:`): a
missing `:` after `for`, `query` for `query_llm`, `tasks(state, context)` without `self`,
`sha256` of a `str`, an application without an entrypoint or initial state.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Generator
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

from flowc.runtime import action
from flowc.runtime.action import Action
from flowc.runtime.application import ApplicationBuilder, ApplicationContext
from flowc.runtime.executors import MultiThreadedExecutor
from flowc.runtime.graph import GraphBuilder
from flowc.runtime.parallelism import (
    MapActions,
    MapActionsAndStates,
    MapStates,
    RunnableGraph,
    SubGraphTask,
    TaskBasedParallelAction,
)
from flowc.runtime.persistence import SQLLitePersister
from flowc.runtime.state import State
from flowc.runtime.tracking import LocalTrackingClient

PROMPTS = [
    "What is the meaning of life?",
    "What is the airspeed velocity of an unladen swallow?",
    "What is the best way to cook a steak?",
]


def _query_my_llm(prompt: str, model: str = "default") -> str:
    return f"{model} says {len(prompt)}"


@action(reads=[], writes=["prompts"])
def generate_prompts(state: State) -> State:  # page: "not defined above, this writes to prompts"
    return state.update(prompts=PROMPTS)


def run_to(app: Any, halt: str, inputs: dict[str, Any] | None = None) -> State:
    _, _, final = app.run(halt_after=[halt], inputs=inputs or {})
    return final


# -- Run the same action over different states --------------------------------------------------


@action(reads=["prompt"], writes=["llm_output"])
def query_llm_prompt(state: State) -> State:
    return state.update(llm_output=_query_my_llm(prompt=state["prompt"]))


class TestMultiplePrompts(MapStates):
    def action(self, state: State, inputs: dict[str, Any]) -> Action | Callable | RunnableGraph:
        # make sure to add a name to the action
        return query_llm_prompt.with_name("query_llm")

    def states(
        self, state: State, context: ApplicationContext, inputs: dict[str, Any]
    ) -> Generator[State, None, None]:
        for prompt in PROMPTS:
            yield state.update(prompt=prompt)

    def reduce(self, state: State, states: Generator[State, None, None]) -> State:
        all_llm_outputs = []
        for sub_state in states:
            all_llm_outputs.append(sub_state["llm_output"])
        return state.update(all_llm_outputs=all_llm_outputs)

    @property
    def reads(self) -> list[str]:
        return ["prompts"]

    @property
    def writes(self) -> list[str]:
        return ["all_llm_outputs"]


def test_map_states_runs_the_action_over_each_state_and_reduces_in_order() -> None:
    app = (
        ApplicationBuilder()
        .with_action(
            prompt_generator=generate_prompts,
            multi_prompt_test=TestMultiplePrompts(),
        )
        .with_transitions(
            ("prompt_generator", "multi_prompt_test"),
        )
        .with_entrypoint("prompt_generator")  # page: no entrypoint given
        .build()
    )
    final = run_to(app, "multi_prompt_test")
    assert final["all_llm_outputs"] == [_query_my_llm(p) for p in PROMPTS]


# -- Run different actions over the same state --------------------------------------------------


@action(reads=["prompt", "model"], writes=["llm_output"])
def query_llm(state: State, model: str) -> State:
    return state.update(llm_output=_query_my_llm(prompt=state["prompt"], model=model))


class TestMultipleModels(MapActions):
    def actions(
        self, state: State, context: ApplicationContext, inputs: dict[str, Any]
    ) -> Generator[Action | Callable | RunnableGraph, None, None]:
        for action in [  # noqa: F402, UP028 - page, with its missing ":" added
            query_llm.bind(model="gpt-4").with_name("gpt_4_answer"),
            query_llm.bind(model="o1").with_name("o1_answer"),
            query_llm.bind(model="claude").with_name("claude_answer"),
        ]:
            yield action

    def state(self, state: State, inputs: dict[str, Any]) -> State:
        return state.update(prompt="What is the meaning of life?")

    def reduce(self, state: State, states: Generator[State, None, None]) -> State:
        all_llm_outputs = []
        for sub_state in states:
            all_llm_outputs.append(sub_state["llm_output"])
        return state.update(all_llm_outputs=all_llm_outputs)

    @property
    def reads(self) -> list[str]:
        return ["prompt"]

    @property
    def writes(self) -> list[str]:
        return ["all_llm_outputs"]


def test_map_actions_runs_each_action_over_the_same_state() -> None:
    app = (
        ApplicationBuilder()
        .with_action(
            prompt_generator=generate_prompts,
            multi_prompt_test=TestMultipleModels(),
        )
        .with_transitions(
            ("prompt_generator", "multi_prompt_test"),
        )
        .with_entrypoint("prompt_generator")  # page: no entrypoint given
        .build()
    )
    final = run_to(app, "multi_prompt_test")
    prompt = "What is the meaning of life?"
    assert final["all_llm_outputs"] == [
        _query_my_llm(prompt, model) for model in ("gpt-4", "o1", "claude")
    ]


# -- Full cartesian product ---------------------------------------------------------------------


class TestModelsOverPrompts(MapActionsAndStates):
    def actions(
        self, state: State, context: ApplicationContext, inputs: dict[str, Any]
    ) -> Generator[Action | Callable | RunnableGraph, None, None]:
        for action in [  # noqa: F402, UP028 - page
            query_llm.bind(model="gpt-4").with_name("gpt_4_answer"),
            query_llm.bind(model="o1").with_name("o1_answer"),
            query_llm.bind(model="claude").with_name("claude_answer"),
        ]:
            yield action

    def states(
        self, state: State, context: ApplicationContext, inputs: dict[str, Any]
    ) -> Generator[State, None, None]:
        for prompt in PROMPTS:
            yield state.update(prompt=prompt)

    def reduce(self, state: State, states: Generator[State, None, None]) -> State:
        all_llm_outputs = []
        for sub_state in states:
            all_llm_outputs.append(
                {
                    "output": sub_state["llm_output"],
                    "model": sub_state.get("model"),  # page: sub_state["model"] (model is bound)
                    "prompt": sub_state["prompt"],
                }
            )
        return state.update(all_llm_outputs=all_llm_outputs)

    @property
    def reads(self) -> list[str]:
        return ["prompts"]

    @property
    def writes(self) -> list[str]:
        return ["all_llm_outputs"]


def test_map_actions_and_states_runs_the_product_action_major() -> None:
    app = (
        ApplicationBuilder()
        .with_action(prompt_generator=generate_prompts, product=TestModelsOverPrompts())
        .with_transitions(("prompt_generator", "product"))
        .with_entrypoint("prompt_generator")
        .build()
    )
    final = run_to(app, "product")
    expected = [(_query_my_llm(p, m), p) for m in ("gpt-4", "o1", "claude") for p in PROMPTS]
    assert [(o["output"], o["prompt"]) for o in final["all_llm_outputs"]] == expected


# -- Subgraphs ----------------------------------------------------------------------------------


@action(reads=["prompt"], writes=["processed_prompt"])
def process_prompt(state: State) -> State:
    processed_prompt = f"The user has asked: {state['prompt']}. Please respond directly to that prompt, but only in riddles."  # noqa: E501, F841 - page
    return state.update(
        processed_prompt=state["prompt"],
    )


@action(reads=["processed_prompt"], writes=["llm_output"])
def query_llm_processed(state: State) -> State:
    return state.update(llm_output=_query_my_llm(prompt=state["processed_prompt"]))


graph = (
    GraphBuilder()
    .with_action(
        process_prompt=process_prompt,
        query_llm=query_llm_processed,  # page: `query`
    )
    .with_transitions(("process_prompt", "query_llm"))
    .build()
)

runnable_graph = RunnableGraph(graph=graph, entrypoint="process_prompt", halt_after=["query_llm"])


class TestMultiplePromptsWithSubgraph(MapStates):
    def action(self, state: State, inputs: dict[str, Any]) -> Action | Callable | RunnableGraph:
        return runnable_graph

    def states(
        self, state: State, context: ApplicationContext, inputs: dict[str, Any]
    ) -> Generator[State, None, None]:
        for prompt in PROMPTS:
            yield state.update(prompt=prompt)

    # page: "... # same as above"
    reduce = TestMultiplePrompts.reduce
    reads = TestMultiplePrompts.reads
    writes = TestMultiplePrompts.writes


def test_a_subgraph_runs_as_each_branch() -> None:
    app = (
        ApplicationBuilder()
        .with_action(prompt_generator=generate_prompts, subgraphs=TestMultiplePromptsWithSubgraph())
        .with_transitions(("prompt_generator", "subgraphs"))
        .with_entrypoint("prompt_generator")
        .build()
    )
    assert run_to(app, "subgraphs")["all_llm_outputs"] == [_query_my_llm(p) for p in PROMPTS]


# -- Passing inputs -----------------------------------------------------------------------------


@action(reads=["prompt"], writes=["processed_prompt"])
def process_prompt_for_input(state: State) -> State:
    return state.update(processed_prompt=state["prompt"])  # page: wrote `prompt=` (never read)


@action(reads=["processed_prompt"], writes=["llm_output"])
def query_llm_model(state: State, model: str) -> State:
    return state.update(llm_output=_query_my_llm(prompt=state["processed_prompt"], model=model))


input_graph = (
    GraphBuilder()
    .with_action(process_prompt=process_prompt_for_input, query_llm=query_llm_model)
    .with_transitions(("process_prompt", "query_llm"))
    .build()
)

input_runnable_graph = RunnableGraph(
    graph=input_graph, entrypoint="process_prompt", halt_after="query_llm"
)


class TestMultiplePromptsWithInputs(MapStates):
    def action(self, state: State, inputs: dict[str, Any]) -> Action | Callable | RunnableGraph:
        return input_runnable_graph

    @property
    def inputs(self) -> list[str]:
        return ["prompts", "model"] + super().inputs  # noqa: RUF005 - page (+ "model")

    def states(
        self, state: State, context: ApplicationContext, inputs: dict[str, Any]
    ) -> Generator[State, None, None]:
        for prompt in inputs["prompts"]:
            yield state.update(prompt=prompt)

    reduce = TestMultiplePrompts.reduce
    reads = TestMultiplePrompts.reads
    writes = TestMultiplePrompts.writes


def test_declared_inputs_reach_the_map_methods_and_every_branch() -> None:
    app = (
        ApplicationBuilder()
        .with_action(with_inputs=TestMultiplePromptsWithInputs())
        .with_entrypoint("with_inputs")
        .with_state(prompts=[])
        .build()
    )
    final = run_to(app, "with_inputs", inputs={"prompts": PROMPTS[:2], "model": "o1"})
    assert final["all_llm_outputs"] == [_query_my_llm(p, "o1") for p in PROMPTS[:2]]


# -- Lower-level API ----------------------------------------------------------------------------


class MultipleTaskExample(TaskBasedParallelAction):
    def tasks(  # page: `def tasks(state, context)`
        self, state: State, context: ApplicationContext, inputs: dict[str, Any]
    ) -> Generator[SubGraphTask, None, None]:
        for prompt in state["prompts"]:
            for action in [  # noqa: F402 - page
                query_llm.bind(model="gpt-4").with_name("gpt_4_answer"),
                query_llm.bind(model="o1").with_name("o1_answer"),
                query_llm.bind(model="claude").with_name("claude_answer"),
            ]:
                yield SubGraphTask(
                    action=action,  # can be a RunnableGraph as well
                    state=state.update(prompt=prompt),
                    inputs={},
                    # stable hash -- up to you to ensure uniqueness
                    application_id=hashlib.sha256(  # page: hashed a str
                        (context.application_id + action.name + prompt).encode()
                    ).hexdigest(),
                )

    def reduce(self, state: State, states: Generator[State, None, None]) -> State:
        all_llm_outputs = []
        for sub_state in states:
            all_llm_outputs.append(
                {"output": sub_state["llm_output"], "prompt": sub_state["prompt"]}
            )
        return state.update(all_llm_outputs=all_llm_outputs)

    @property
    def reads(self) -> list[str]:
        return ["prompts"]

    @property
    def writes(self) -> list[str]:
        return ["all_llm_outputs"]


def test_the_low_level_api_runs_each_yielded_task() -> None:
    app = (
        ApplicationBuilder()
        .with_action(prompt_generator=generate_prompts, tasks=MultipleTaskExample())
        .with_transitions(("prompt_generator", "tasks"))
        .with_entrypoint("prompt_generator")
        .build()
    )
    final = run_to(app, "tasks")
    expected = [_query_my_llm(p, m) for p in PROMPTS for m in ("gpt-4", "o1", "claude")]
    assert [o["output"] for o in final["all_llm_outputs"]] == expected


# -- Execution ----------------------------------------------------------------------------------


def test_an_application_wide_executor_instance_is_used() -> None:
    app = (
        ApplicationBuilder()
        .with_action(prompt_generator=generate_prompts, multi_prompt_test=TestMultiplePrompts())
        .with_transitions(("prompt_generator", "multi_prompt_test"))
        .with_parallel_executor(MultiThreadedExecutor(max_concurrency=10))
        .with_entrypoint("prompt_generator")
        .build()
    )
    assert run_to(app, "multi_prompt_test")["all_llm_outputs"] == [
        _query_my_llm(p) for p in PROMPTS
    ]


class TestMultiplePromptsOwnExecutor(TestMultiplePromptsWithSubgraph):
    made: list[Executor] = []  # noqa: RUF012 - test bookkeeping

    def executor(self) -> Executor:
        pool = MultiThreadedExecutor(max_concurrency=10)
        self.made.append(pool)
        return pool


def test_a_per_action_executor_overrides_the_applications() -> None:
    app = (
        ApplicationBuilder()
        .with_action(prompt_generator=generate_prompts, own=TestMultiplePromptsOwnExecutor())
        .with_transitions(("prompt_generator", "own"))
        .with_parallel_executor(MultiThreadedExecutor(max_concurrency=2))
        .with_entrypoint("prompt_generator")
        .build()
    )
    assert run_to(app, "own")["all_llm_outputs"] == [_query_my_llm(p) for p in PROMPTS]
    assert len(TestMultiplePromptsOwnExecutor.made) == 1


# -- Persistence / tracking overrides -----------------------------------------------------------


def make_overriding_map(tmp_path: Path) -> MapStates:
    class TestMultiplePromptsOverrides(TestMultiplePromptsWithSubgraph):
        def tracker(self, context: Any) -> Any:
            # return "cascade" # default
            # return None # no tracking
            return LocalTrackingClient("children", storage_dir=str(tmp_path / "tracking"))

        def state_persister(self) -> Any:
            return self._persister

        def state_initializer(self) -> Any:
            return self.state_persister()  # same as the persister

    overriding = TestMultiplePromptsOverrides()
    overriding._persister = SQLLitePersister(str(tmp_path / "children.db"))  # type: ignore[attr-defined]
    overriding._persister.initialize()  # type: ignore[attr-defined]
    return overriding


def test_tracker_and_persister_overrides_give_children_their_own(tmp_path: Path) -> None:
    overriding = make_overriding_map(tmp_path)
    app = (
        ApplicationBuilder()
        .with_action(prompt_generator=generate_prompts, overrides=overriding)
        .with_transitions(("prompt_generator", "overrides"))
        .with_entrypoint("prompt_generator")
        .build()
    )
    assert run_to(app, "overrides")["all_llm_outputs"] == [_query_my_llm(p) for p in PROMPTS]
    persister = overriding._persister  # type: ignore[attr-defined]
    assert len(persister.list_app_ids(persister.PARTITION_KEY_DEFAULT)) == len(PROMPTS)
    assert (tmp_path / "tracking").exists()
