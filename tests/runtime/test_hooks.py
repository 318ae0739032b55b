"""Lifecycle hooks: what each hook is called with, and when."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from flowc.runtime import ApplicationBuilder, State, action
from flowc.runtime.application import ParentPointer
from flowc.runtime.hooks import (
    PostApplicationCreateHook,
    PostRunStepHook,
    PostRunStepHookAsync,
    PreRunStepHook,
    PreRunStepHookAsync,
)


@action(reads=["n"], writes=["n"])
def increment(state: State) -> State:
    return state.update(n=state["n"] + 1)


@action(reads=["n"], writes=["n"])
def fail(state: State) -> State:
    raise RuntimeError("nope")


class Recorder(PostApplicationCreateHook, PreRunStepHook, PostRunStepHook):
    """Implements every sync hook and writes down what it was given."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def post_application_create(self, **kwargs: Any) -> None:
        self.calls.append(("create", kwargs))

    def pre_run_step(self, **kwargs: Any) -> None:
        self.calls.append(("pre", kwargs))

    def post_run_step(self, **kwargs: Any) -> None:
        self.calls.append(("post", kwargs))

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [kwargs for name, kwargs in self.calls if name == kind]


def app_with(*hooks: Any, second: Any = increment) -> Any:
    return (
        ApplicationBuilder()
        .with_actions(first=increment, second=second)
        .with_transitions(("first", "second"))
        .with_state(n=0)
        .with_entrypoint("first")
        .with_identifiers(app_id="app", partition_key="pk")
        .with_spawning_parent("parent", 3)
        .with_hooks(*hooks)
        .build()
    )


def test_post_application_create_sees_the_app_its_graph_and_its_parent():
    recorder = Recorder()
    app = app_with(recorder)
    (created,) = recorder.of("create")
    assert created["app_id"] == "app" and created["partition_key"] == "pk"
    assert created["state"] == {"n": 0}
    assert {a.name for a in created["application_graph"].actions} == {"first", "second"}
    assert created["spawning_parent_pointer"] == ParentPointer("parent", 3)
    assert created["parent_pointer"] is None  # not forked
    assert app.app_id == "app"


def test_pre_and_post_step_hooks_surround_every_step_in_order():
    recorder = Recorder()
    app_with(recorder).run(halt_after=["second"])
    assert [name for name, _ in recorder.calls] == ["create", "pre", "post", "pre", "post"]
    pre, post = recorder.of("pre"), recorder.of("post")
    assert [kw["action"].name for kw in pre] == ["first", "second"]
    assert [kw["sequence_id"] for kw in pre] == [0, 1]
    assert [kw["sequence_id"] for kw in post] == [0, 1]
    assert [kw["state"]["n"] for kw in pre] == [0, 1]  # before the step
    assert [kw["state"]["n"] for kw in post] == [1, 2]  # after it
    assert all(kw["exception"] is None for kw in post)
    assert all(kw["app_id"] == "app" and kw["partition_key"] == "pk" for kw in pre + post)


def test_pre_step_hooks_see_the_inputs():
    recorder = Recorder()
    app_with(recorder).step(inputs={"x": 1})
    assert recorder.of("pre")[0]["inputs"] == {"x": 1}


def test_post_step_hooks_see_the_exception_and_the_unchanged_state():
    recorder = Recorder()
    app = app_with(recorder, second=fail)
    with pytest.raises(RuntimeError, match="nope"):
        app.run(halt_after=["second"])
    failed = recorder.of("post")[-1]
    assert isinstance(failed["exception"], RuntimeError)
    assert failed["state"]["n"] == 1
    assert failed["result"] is None
    assert failed["sequence_id"] == 1


def test_a_hook_may_implement_only_some_methods():
    class OnlyAfter:
        def __init__(self) -> None:
            self.names: list[str] = []

        def post_run_step(self, *, action: Any, **future: Any) -> None:
            self.names.append(action.name)

    only_after = OnlyAfter()
    app_with(only_after, object()).run(halt_after=["second"])
    assert only_after.names == ["first", "second"]


def test_async_hooks_are_awaited_by_the_async_api():
    events: list[str] = []

    class AsyncRecorder(PreRunStepHookAsync, PostRunStepHookAsync):
        async def pre_run_step_async(self, *, action: Any, **future: Any) -> None:
            await asyncio.sleep(0)
            events.append(f"pre {action.name}")

        async def post_run_step_async(self, *, action: Any, **future: Any) -> None:
            events.append(f"post {action.name}")

    asyncio.run(app_with(AsyncRecorder()).arun(halt_after=["second"]))
    assert events == ["pre first", "post first", "pre second", "post second"]


def test_a_tracker_is_a_hook_and_is_in_the_context():
    recorder = Recorder()
    app = (
        ApplicationBuilder()
        .with_actions(first=increment)
        .with_state(n=0)
        .with_entrypoint("first")
        .with_tracker(recorder)
        .build()
    )
    assert app.context.tracker is recorder
    app.step()
    assert [name for name, _ in recorder.calls] == ["create", "pre", "post"]


def test_a_burr_style_async_hook_is_awaited_by_the_async_api_and_skipped_by_the_sync_one():
    events: list[str] = []

    class BurrStyle:
        async def pre_run_step(self, *, action: Any, **future: Any) -> None:
            events.append(f"pre {action.name}")

        async def post_run_step(self, *, action: Any, **future: Any) -> None:
            events.append(f"post {action.name}")

    asyncio.run(app_with(BurrStyle()).arun(halt_after=["second"]))
    assert events == ["pre first", "post first", "pre second", "post second"]
    events.clear()
    app_with(BurrStyle()).run(halt_after=["second"])
    assert events == []
