"""Application: the step loop. ``step``/``run``/``iterate`` (and their async twins) follow the
first matching transition, stop at ``halt_after``/``halt_before`` or where no transition
matches, pass inputs, count sequence ids, and leave the state untouched by a failed step."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from flowc.runtime import (
    Application,
    ApplicationBuilder,
    ApplicationContext,
    GraphBuilder,
    State,
    action,
    default,
    expr,
    when,
)
from flowc.runtime.step import (
    AsyncActionInSyncRunError,
    MissingInputError,
    MissingWriteError,
    UndeclaredWriteError,
)


@action(reads=["counter"], writes=["counter"])
def increment(state: State) -> State:
    return state.update(counter=state["counter"] + 1)


@action(reads=["counter"], writes=["done"])
def check(state: State) -> State:
    return state.update(done=state["counter"] >= 10)


@action(reads=["counter"], writes=["counter"])
async def aincrement(state: State) -> State:
    await asyncio.sleep(0)
    return state.update(counter=state["counter"] + 1)


@action(reads=[], writes=[])
def finish(state: State) -> State:
    return state


def counter_app(**identifiers: Any) -> Application:
    """The reference page's style: a loop that runs while ``counter < 10``."""
    return (
        ApplicationBuilder()
        .with_actions(increment=increment, finish=finish)
        .with_transitions(
            ("increment", "increment", expr("counter < 10")),
            ("increment", "finish", default),
        )
        .with_state(counter=0)
        .with_entrypoint("increment")
        .with_identifiers(**identifiers)
        .build()
    )


def test_the_counter_loop_runs_until_its_expr_condition_fails() -> None:
    app = counter_app()
    last_action, result, state = app.run(halt_after=["finish"])
    assert last_action.name == "finish" and result == {} and state["counter"] == 10
    assert app.state is state and app.sequence_id == 10  # the last step's id, as in Burr


def test_the_async_counter_loop_awaits_async_actions() -> None:
    app = (
        ApplicationBuilder()
        .with_actions(increment=aincrement, finish=finish)
        .with_transitions(("increment", "increment", expr("counter < 10")), ("increment", "finish"))
        .with_state(counter=0)
        .with_entrypoint("increment")
        .build()
    )
    _, _, state = asyncio.run(app.arun(halt_after=["finish"]))
    assert state["counter"] == 10


def test_a_sync_run_that_reaches_an_async_action_fails_clearly_and_keeps_its_state() -> None:
    app = (
        ApplicationBuilder()
        .with_actions(increment=aincrement)
        .with_transitions()
        .with_state(counter=0)
        .with_entrypoint("increment")
        .build()
    )
    with pytest.raises(AsyncActionInSyncRunError, match="astep/arun/aiterate"):
        app.run()
    assert app.state["counter"] == 0 and app.sequence_id is None


def test_a_two_action_loop_with_when_stops_where_no_transition_matches() -> None:
    app = (
        ApplicationBuilder()
        .with_actions(increment=increment, check=check)
        .with_transitions(("increment", "check"), ("check", "increment", when(done=False)))
        .with_state(counter=0, done=False)
        .with_entrypoint("increment")
        .build()
    )
    last_action, _, state = app.run()
    assert last_action.name == "check" and state["counter"] == 10 and state["done"] is True
    assert app.get_next_action() is None and not app.has_next_action()
    assert app.step() is None


def test_step_runs_one_action_and_moves_the_sequence_id_on() -> None:
    app = counter_app()
    assert app.sequence_id is None
    action_, result, state = app.step()  # type: ignore[misc]
    assert action_.name == "increment" and result == {} and state["counter"] == 1
    assert app.sequence_id == 0 and app.get_next_action().name == "increment"


def test_halt_before_returns_the_next_action_without_running_it() -> None:
    app = counter_app()
    next_action, result, state = app.run(halt_before=["finish"])
    assert next_action.name == "finish" and result is None and state["counter"] == 10
    assert app.get_next_action().name == "finish"


def test_iterate_yields_every_step_and_returns_the_last() -> None:
    app = counter_app()
    steps = app.iterate(halt_after=["finish"])
    names = []
    while True:
        try:
            names.append(next(steps)[0].name)
        except StopIteration as stop:
            assert stop.value[0].name == "finish"
            break
    assert names == ["increment"] * 10 + ["finish"]


def test_aiterate_yields_every_step() -> None:
    async def collect() -> list[str]:
        app = counter_app()
        return [step[0].name async for step in app.aiterate(halt_after=["finish"])]

    assert asyncio.run(collect()) == ["increment"] * 10 + ["finish"]


def test_astep_runs_one_step() -> None:
    app = counter_app()
    action_, _, state = asyncio.run(app.astep())  # type: ignore[misc]
    assert action_.name == "increment" and state["counter"] == 1


def test_inputs_reach_the_action_that_needs_them() -> None:
    @action(reads=[], writes=["greeting"])
    def greet(state: State, name: str) -> State:
        return state.update(greeting=f"hi {name}")

    app = (
        ApplicationBuilder()
        .with_actions(greet=greet)
        .with_transitions()
        .with_entrypoint("greet")
        .build()
    )
    with pytest.raises(MissingInputError, match="'name'"):
        app.run(halt_after=["greet"])
    assert app.run(halt_after=["greet"], inputs={"name": "ada"})[2]["greeting"] == "hi ada"


def test_identifiers_graph_and_uid_are_exposed() -> None:
    app = counter_app(app_id="app-7", partition_key="user-1")
    assert app.app_id == app.uid == "app-7" and app.partition_key == "user-1"
    assert {a.name for a in app.graph.actions} == {"increment", "finish"}
    assert app.entrypoint == "increment"
    assert counter_app().app_id != counter_app().app_id  # a fresh uuid each build


def test_an_action_asking_for_context_sees_the_application() -> None:
    seen: list[ApplicationContext] = []

    @action(reads=[], writes=[])
    def look(state: State, __context: ApplicationContext) -> State:
        seen.append(__context)
        return state

    app = (
        ApplicationBuilder()
        .with_actions(look=look)
        .with_transitions(("look", "look"))
        .with_entrypoint("look")
        .with_identifiers(app_id="ctx", partition_key="pk")
        .build()
    )
    app.step()
    app.step()
    assert [(c.app_id, c.partition_key, c.sequence_id, c.action_name) for c in seen] == [
        ("ctx", "pk", 0, "look"),
        ("ctx", "pk", 1, "look"),
    ]


def test_a_failing_action_leaves_state_and_sequence_id_and_can_be_retried() -> None:
    attempts: list[int] = []

    @action(reads=["counter"], writes=["counter"])
    def flaky(state: State) -> State:
        attempts.append(state["counter"])
        if len(attempts) == 1:
            raise RuntimeError("first try fails")
        return state.update(counter=state["counter"] + 1)

    app = (
        ApplicationBuilder()
        .with_actions(flaky=flaky)
        .with_transitions()
        .with_state(counter=0)
        .with_entrypoint("flaky")
        .build()
    )
    with pytest.raises(RuntimeError, match="first try fails") as caught:
        app.run()
    assert "flowc: in action 'flaky'" in caught.value.__notes__
    assert app.state["counter"] == 0 and app.sequence_id is None
    assert app.run()[2]["counter"] == 1 and attempts == [0, 0]


def test_one_graph_serves_many_applications() -> None:
    graph = (
        GraphBuilder()
        .with_actions(increment=increment, finish=finish)
        .with_transitions(("increment", "increment", expr("counter < 3")), ("increment", "finish"))
        .build()
    )

    def start(at: int) -> Application:
        return (
            ApplicationBuilder()
            .with_graph(graph)
            .with_state(counter=at)
            .with_entrypoint("increment")
            .build()
        )

    assert start(0).run(halt_after=["finish"])[2]["counter"] == 3
    assert start(5).run(halt_after=["finish"])[2]["counter"] == 6


def test_run_with_nothing_to_do_returns_the_state_unchanged() -> None:
    app = counter_app()
    app.run(halt_after=["finish"])
    assert app.run() == (None, None, app.state)


def test_run_enforces_writes_and_notes_the_action_like_a_single_step() -> None:
    @action(reads=[], writes=["a"])
    def sneaky(state: State) -> State:
        return state.update(a=1, b=2)

    @action(reads=[], writes=["a", "b"])
    def lazy(state: State) -> State:
        return state.update(a=1)

    for bad, rule in ((sneaky, UndeclaredWriteError), (lazy, MissingWriteError)):
        app = (
            ApplicationBuilder()
            .with_actions(bad=bad)
            .with_transitions()
            .with_entrypoint("bad")
            .build()
        )
        with pytest.raises(rule, match="'b'") as caught:
            app.run()
        assert "flowc: in action 'bad'" in caught.value.__notes__
        assert app.state.get_all() == {} and app.sequence_id is None
