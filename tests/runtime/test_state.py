"""State: an immutable mapping whose every write returns a new state sharing unchanged values."""

from __future__ import annotations

import pickle
import tracemalloc
from collections.abc import Mapping

import pytest
from pydantic import BaseModel

from flowc.errors import FlowRuntimeError
from flowc.runtime import ApplicationBuilder, State, action


def test_update_returns_a_new_state_and_leaves_the_original_alone():
    original = State({"a": 1})
    updated = original.update(a=2, b=3)
    assert dict(original) == {"a": 1}
    assert dict(updated) == {"a": 2, "b": 3}


def test_append_and_extend_build_new_lists_without_mutating_the_old_one():
    original = State({"xs": [1]})
    appended = original.append(xs=2)
    extended = appended.extend(xs=[3, 4], ys=[5])
    assert original["xs"] == [1]
    assert appended["xs"] == [1, 2]
    assert extended["xs"] == [1, 2, 3, 4]
    assert extended["ys"] == [5]


def test_append_creates_a_missing_key_as_a_list():
    assert State().append(xs=1)["xs"] == [1]


def test_append_to_a_non_list_is_a_type_error_naming_the_key():
    with pytest.raises(TypeError, match="'n'"):
        State({"n": 3}).append(n=4)


def test_increment_adds_and_starts_missing_keys_at_zero():
    state = State({"count": 2}).increment(count=3, fresh=1)
    assert state["count"] == 5
    assert state["fresh"] == 1


def test_wipe_deletes_named_keys_or_keeps_only_named_keys():
    state = State({"a": 1, "b": 2, "c": 3})
    assert dict(state.wipe(delete=["a", "missing"])) == {"b": 2, "c": 3}
    assert dict(state.wipe(keep=["a"])) == {"a": 1}
    assert dict(state) == {"a": 1, "b": 2, "c": 3}


def test_wipe_needs_exactly_one_of_keep_and_delete():
    with pytest.raises(ValueError):
        State({"a": 1}).wipe()
    with pytest.raises(ValueError):
        State({"a": 1}).wipe(keep=["a"], delete=["a"])


def test_subset_keeps_only_the_named_keys():
    state = State({"a": 1, "b": 2})
    assert dict(state.subset("a", "zzz")) == {"a": 1}


def test_merge_takes_the_other_states_values():
    merged = State({"a": 1, "b": 2}).merge(State({"b": 20, "c": 30}))
    assert dict(merged) == {"a": 1, "b": 20, "c": 30}


def test_reads_work_like_a_mapping():
    state = State({"a": 1, "b": None})
    assert isinstance(state, Mapping)
    assert state["a"] == 1
    assert state.get("zzz") is None
    assert state.get("zzz", 7) == 7
    assert "b" in state and "zzz" not in state
    assert set(state.keys()) == {"a", "b"}
    assert sorted(state) == ["a", "b"]
    assert len(state) == 2
    assert state == {"a": 1, "b": None}


def test_a_missing_key_is_a_key_error_naming_the_key():
    with pytest.raises(KeyError, match="zzz"):
        State({"a": 1})["zzz"]


def test_get_all_is_a_copy_that_cannot_change_the_state():
    state = State({"a": 1})
    everything = state.get_all()
    everything["a"] = 99
    assert state["a"] == 1


def test_states_cannot_be_assigned_to():
    state = State({"a": 1})
    with pytest.raises(TypeError):
        state["a"] = 2  # type: ignore[index]


def test_a_state_pickles_to_an_equal_state():
    state = State({"a": [1, 2], "b": "x"}).update(c=3)
    assert pickle.loads(pickle.dumps(state)) == state


def test_deriving_a_state_shares_unchanged_values():
    big = list(range(1000))
    parent = State({"big": big, "n": 0})
    child = parent.update(n=1)
    assert child["big"] is big


def test_ten_thousand_derived_states_over_a_10_mb_list_add_less_than_20_mb():
    big = list(range(1_250_000))  # 8-byte pointers: 10 MB of list, plus the ints themselves
    parent = State({"big": big, "n": 0})
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        children = [parent.update(n=i) for i in range(10_000)]
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(children) == 10_000
    assert after - before < 20 * 1024 * 1024


class Typed(BaseModel):
    count: int
    label: str = "x"


def test_a_pydantic_model_gives_the_state_its_values_and_schema():
    @action(reads=["count"], writes=["count"])
    def bump(state: State) -> State:
        return state.update(count=state["count"] + 1)

    app = (
        ApplicationBuilder()
        .with_actions(bump=bump)
        .with_transitions()
        .with_state(Typed(count=1))
        .with_entrypoint("bump")
        .build()
    )
    _, _, state = app.run(halt_after=["bump"])
    assert state["count"] == 2
    assert state["label"] == "x"


def test_a_typed_write_of_the_wrong_type_names_the_key_the_type_and_the_action():
    @action(reads=["count"], writes=["count"])
    def spoil(state: State) -> State:
        return state.update(count="many")

    app = (
        ApplicationBuilder()
        .with_actions(spoil=spoil)
        .with_state(Typed(count=1))
        .with_entrypoint("spoil")
        .build()
    )
    with pytest.raises(TypeError) as caught:
        app.step()
    error = caught.value
    assert isinstance(error, FlowRuntimeError)
    message = str(error)
    assert "'count'" in message and "int" in message and "spoil" in message
    assert app.state["count"] == 1
