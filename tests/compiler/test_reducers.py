"""The built-in reducers (flowc/runtime/reducers.py): what each one folds branch states into."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from flowc.runtime import reducers
from flowc.runtime.parallel.outcomes import BranchFailure
from flowc.runtime.state import State


@dataclass
class Answer:
    text: str
    score: float


def branch_states() -> list[State]:
    return [
        State({"prompt": "a", "out": "A", "score": 2, "tags": ["x"], "meta": {"m": 1}}),
        State({"prompt": "b", "out": "B", "score": 5, "tags": ["y", "z"], "meta": {"n": 2}}),
        State({"prompt": "c", "out": "C", "score": 1, "tags": [], "meta": {"m": 3}}),
    ]


def failure(index: int) -> BranchFailure:
    return BranchFailure(index, str(index), "ask", ValueError("boom"), State({"prompt": "?"}))


def test_collect_keeps_task_order() -> None:
    assert reducers.collect(branch_states(), "out") == ["A", "B", "C"]


def test_records_rename_fields_and_keep_written_order() -> None:
    rows = reducers.records(branch_states(), {"output": "out", "prompt": "prompt"})
    assert rows[0] == {"output": "A", "prompt": "a"}
    assert list(rows[0]) == ["output", "prompt"]


def test_records_name_unrenamed_paths_by_their_last_component() -> None:
    states = [State({"answer": Answer("hi", 0.5)})]
    assert reducers.records(states, ["answer.score"]) == [{"score": 0.5}]


def test_to_dict_maps_key_to_value_and_later_branch_wins() -> None:
    states = [*branch_states(), State({"prompt": "a", "out": "A2"})]
    assert reducers.to_dict(states, "prompt", "out") == {"a": "A2", "b": "B", "c": "C"}


def test_to_dict_refuses_an_unhashable_key() -> None:
    with pytest.raises(reducers.ReducerTypeError) as caught:
        reducers.to_dict(branch_states(), "tags", "out")
    assert caught.value.code == "F541"


def test_sum_min_max_over_a_field() -> None:
    states = branch_states()
    assert reducers.sum_of(states, "score") == 8
    assert reducers.min_of(states, "score") == 1
    assert reducers.max_of(states, "score") == 5


def test_empty_input_gives_neutral_values() -> None:
    assert reducers.sum_of([], "x") == 0
    assert reducers.min_of([], "x") is None
    assert reducers.max_of([], "x") is None
    assert reducers.first([], "x") is None
    assert reducers.concat([], "x") == []
    assert reducers.merge([], "x") == {}
    assert reducers.count([]) == 0
    assert reducers.collect([], "x") == []


def test_sum_of_strings_is_a_reducer_type_error() -> None:
    with pytest.raises(reducers.ReducerTypeError) as caught:
        reducers.sum_of(branch_states(), "out")
    assert isinstance(caught.value, TypeError)
    assert "concat" in caught.value.hints[0]


def test_min_of_mixed_types_names_them() -> None:
    states = [State({"v": 1}), State({"v": "x"})]
    with pytest.raises(reducers.ReducerTypeError, match="int and str"):
        reducers.min_of(states, "v")


def test_concat_joins_lists_in_order_and_strings_as_strings() -> None:
    assert reducers.concat(branch_states(), "tags") == ["x", "y", "z"]
    assert reducers.concat(branch_states(), "out") == "ABC"


def test_concat_refuses_single_values() -> None:
    with pytest.raises(reducers.ReducerTypeError, match="collect"):
        reducers.concat(branch_states(), "score")


def test_first_takes_the_first_in_task_order() -> None:
    assert reducers.first(branch_states(), "out") == "A"


def test_merge_merges_dicts_later_wins() -> None:
    assert reducers.merge(branch_states(), "meta") == {"m": 3, "n": 2}


def test_merge_refuses_non_dicts() -> None:
    with pytest.raises(reducers.ReducerTypeError):
        reducers.merge(branch_states(), "tags")


def test_count_counts_successful_branches() -> None:
    assert reducers.count(branch_states()) == 3


def test_a_missing_key_names_the_branch_and_the_keys_it_has() -> None:
    states = [State({"out": 1}), State({"other": 2})]
    with pytest.raises(reducers.ReducerFieldError) as caught:
        reducers.collect(states, "out")
    error = caught.value
    assert error.code == "F540"
    assert isinstance(error, KeyError)
    assert "branch 1" in str(error) and "other" in str(error)


def test_a_missing_nested_field_names_the_path() -> None:
    states = [State({"answer": Answer("hi", 1.0)})]
    with pytest.raises(reducers.ReducerFieldError, match=r"answer\.rank"):
        reducers.collect(states, "answer.rank")


def test_paths_read_mappings_and_attributes() -> None:
    states = [State({"answer": {"inner": Answer("t", 3.0)}})]
    assert reducers.collect(states, "answer.inner.score") == [3.0]


def test_failed_branches_included_by_a_tolerate_policy_are_skipped() -> None:
    states = [branch_states()[0], failure(1), branch_states()[2]]
    assert reducers.collect(states, "out") == ["A", "C"]
    assert reducers.count(states) == 2
    assert reducers.records(states, ["out"]) == [{"out": "A"}, {"out": "C"}]
    assert [f.index for f in reducers.failures(states)] == [1]
    assert len(list(reducers.successful(states))) == 2


def test_reducers_accept_a_generator_once() -> None:
    assert reducers.collect((s for s in branch_states()), "prompt") == ["a", "b", "c"]


def test_every_language_builtin_has_a_function() -> None:
    assert set(reducers.BUILTIN_REDUCERS) == {
        "collect",
        "records",
        "to_dict",
        "sum",
        "count",
        "min",
        "max",
        "concat",
        "first",
        "merge",
    }


def test_custom_result_takes_targets_from_a_returned_state() -> None:
    result = State({"best": 1, "ranking": [1, 2], "other": 0})
    assert reducers.custom_result(result, ["best", "ranking"], "pick") == {
        "best": 1,
        "ranking": [1, 2],
    }


def test_custom_result_accepts_a_bare_value_for_one_target() -> None:
    assert reducers.custom_result({"a": 1}, ["best"], "pick") == {"best": {"a": 1}}


def test_custom_result_accepts_a_tuple_for_several_targets() -> None:
    assert reducers.custom_result((1, 2), ["a", "b"], "pick") == {"a": 1, "b": 2}


def test_custom_result_missing_a_target_is_f542() -> None:
    with pytest.raises(reducers.ReducerResultError) as caught:
        reducers.custom_result(State({"a": 1}), ["a", "b"], "pick")
    assert caught.value.code == "F542"
    with pytest.raises(reducers.ReducerResultError):
        reducers.custom_result(3, ["a", "b"], "pick")


def test_paths_never_read_private_or_dunder_attributes() -> None:
    states = [State({"answer": Answer("hi", 1.0)})]
    with pytest.raises(reducers.ReducerFieldError, match=r"__class__.*begins with '_'"):
        reducers.collect(states, "answer.__class__")


def test_paths_may_read_mapping_keys_that_begin_with_an_underscore() -> None:
    states = [State({"answer": {"_id": 7}})]
    assert reducers.collect(states, "answer._id") == [7]
