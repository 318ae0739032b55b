"""LocalTrackingClient records each application (metadata, step log, children) on disk, from any
number of threads, and the reader API gives a run back as a tree."""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from flowc.runtime.tracking import (
    CHILDREN_FILENAME,
    LOG_FILENAME,
    LocalTrackingClient,
    RunNotFoundError,
    TrackingConfigError,
    TrackingLogError,
    TrackingStorageError,
    app_dir_name,
    list_runs,
    load_run,
)


def pointer(app_id: str, sequence_id: int = 0) -> dict[str, object]:
    return {"app_id": app_id, "sequence_id": sequence_id, "partition_key": "pk"}


def run_app(
    tracker: LocalTrackingClient,
    app_id: str,
    steps: list[tuple[str, dict, dict, BaseException | None]],
    spawned_by: dict[str, object] | None = None,
    forked_from: dict[str, object] | None = None,
) -> None:
    """Call the hooks the way the step loop does."""
    tracker.post_application_create(
        app_id=app_id,
        partition_key="pk",
        state={},
        application_graph=None,
        parent_pointer=forked_from,
        spawning_parent_pointer=spawned_by,
    )
    for sequence_id, (action, inputs, state, exception) in enumerate(steps):
        tracker.pre_run_step(
            app_id=app_id, partition_key="pk", sequence_id=sequence_id, state={},
            action=action, inputs=inputs,
        )  # fmt: skip
        tracker.post_run_step(
            app_id=app_id, partition_key="pk", sequence_id=sequence_id, state=state,
            action=action, result=state if exception is None else None, exception=exception,
        )  # fmt: skip


def test_steps_are_read_back_with_inputs_results_state_and_errors(tmp_path: Path) -> None:
    tracker = LocalTrackingClient("proj", storage_dir=tmp_path)
    when = dt.datetime(2026, 1, 1)
    run_app(
        tracker,
        "app-1",
        [
            (
                "load",
                {"path": "x.csv", "__context": object()},
                {"rows": (1, 2), "when": when},
                None,
            ),
            ("boom", {}, {"rows": (1, 2)}, ValueError("bad row")),
        ],
    )
    run = load_run("proj", "app-1", tmp_path)
    assert [s.action for s in run.steps] == ["load", "boom"]
    first, second = run.steps
    assert first.inputs == {"path": "x.csv"}  # private inputs such as __context are left out
    assert first.start_time and first.end_time and first.start_time <= first.end_time
    assert first.state["rows"] == {"__flowc__": "tuple", "v": [1, 2]}
    assert first.status == "completed"
    assert second.status == "failed" and "ValueError: bad row" in second.exception
    assert run.status == "failed" and run.partition_key == "pk"


def test_children_are_listed_under_their_parent_and_load_as_a_tree(tmp_path: Path) -> None:
    tracker = LocalTrackingClient("proj", storage_dir=tmp_path)
    run_app(tracker, "parent", [("fan_out", {}, {"n": 3}, None)])
    for i in range(3):
        child_tracker = tracker.copy()
        run_app(child_tracker, f"child-{i}", [("work", {}, {"i": i}, None)],
                spawned_by=pointer("parent"))  # fmt: skip
        run_app(child_tracker, f"grandchild-{i}", [("deep", {}, {}, None)],
                spawned_by=pointer(f"child-{i}"))  # fmt: skip
    run_app(tracker, "fork", [], forked_from=pointer("parent"))
    tree = load_run("proj", "parent", tmp_path)
    assert [c.app_id for c in tree.children] == ["child-0", "child-1", "child-2", "fork"]
    assert [g.app_id for g in tree.children[1].children] == ["grandchild-1"]
    assert tree.children[0].spawning_parent == {
        "app_id": "parent",
        "sequence_id": 0,
        "partition_key": "pk",
    }
    assert tree.children[3].forked_from["app_id"] == "parent"
    assert len(list(tree.walk())) == 1 + 3 + 3 + 1
    assert load_run("proj", "parent", tmp_path, children=False).children == ()
    top = [r.app_id for r in list_runs("proj", tmp_path)]
    assert sorted(top) == ["fork", "parent"]
    assert len(list_runs("proj", tmp_path, include_children=True)) == 8


def test_threads_write_whole_lines_and_few_descriptors(tmp_path: Path) -> None:
    tracker = LocalTrackingClient("proj", storage_dir=tmp_path)
    run_app(tracker, "parent", [])
    fds_before = len(os.listdir("/proc/self/fd"))
    peak = [0]

    def branch(i: int) -> None:
        steps = [(f"step{k}", {"k": k}, {"i": i, "k": k, "pad": "x" * 300}, None) for k in range(5)]
        run_app(tracker.copy(), f"c{i}", steps, spawned_by=pointer("parent"))
        peak[0] = max(peak[0], len(os.listdir("/proc/self/fd")))

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(branch, range(400)))
    assert peak[0] - fds_before < 40
    tree = load_run("proj", "parent", tmp_path)
    assert len(tree.children) == 400
    for child in tree.children:
        assert [s.state["k"] for s in child.steps] == [0, 1, 2, 3, 4]
    tracker.close()


def test_a_value_that_cannot_be_encoded_is_recorded_by_type_and_repr(tmp_path: Path) -> None:
    tracker = LocalTrackingClient("proj", storage_dir=tmp_path)
    lock = threading.Lock()
    run_app(tracker, "a", [("s", {"lock": lock}, {"lock": lock, "n": 1}, None)])
    step = load_run("proj", "a", tmp_path).steps[0]
    assert step.state["n"] == 1
    assert step.state["lock"]["__unencodable__"].endswith("lock")
    assert "lock" in step.inputs["lock"]["repr"]


def test_a_value_too_deep_for_json_is_recorded_by_type_not_a_crash(tmp_path: Path) -> None:
    tracker = LocalTrackingClient("proj", storage_dir=tmp_path)
    deep: list[object] = []
    for _ in range(5000):
        deep = [deep]
    run_app(tracker, "a", [("s", {}, {"deep": deep, "n": 1}, None)])
    step = load_run("proj", "a", tmp_path).steps[0]
    assert step.state["n"] == 1
    assert step.state["deep"]["__unencodable__"] == "list"


def test_a_resumed_app_keeps_its_first_metadata_and_appends_steps(tmp_path: Path) -> None:
    tracker = LocalTrackingClient("proj", storage_dir=tmp_path)
    run_app(tracker, "a", [("s", {}, {"n": 1}, None)])
    created = load_run("proj", "a", tmp_path).created_at
    run_app(tracker.copy(), "a", [("s", {}, {"n": 2}, None)])
    run = load_run("proj", "a", tmp_path)
    assert run.created_at == created
    assert [s.state["n"] for s in run.steps] == [1, 2]


def test_app_ids_are_escaped_into_safe_directory_names(tmp_path: Path) -> None:
    tracker = LocalTrackingClient("proj", storage_dir=tmp_path)
    for app_id in ("../escape", "a/b", ".hidden"):
        run_app(tracker, app_id, [("s", {}, {}, None)])
        assert load_run("proj", app_id, tmp_path).app_id == app_id
        assert "/" not in app_dir_name(app_id) and not app_dir_name(app_id).startswith(".")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["proj"]


def test_a_torn_last_line_is_skipped_but_a_corrupt_middle_line_is_an_error(tmp_path: Path) -> None:
    tracker = LocalTrackingClient("proj", storage_dir=tmp_path)
    run_app(tracker, "a", [("s", {}, {"n": 1}, None)])
    log = tmp_path / "proj" / "a" / LOG_FILENAME
    with log.open("a") as f:
        f.write('{"type": "begin_en')
    assert len(load_run("proj", "a", tmp_path).steps) == 1
    with log.open("a") as f:
        f.write("\n" + json.dumps({"type": "begin_entry", "sequence_id": 1, "action": "t"}) + "\n")
    with pytest.raises(TrackingLogError) as caught:
        load_run("proj", "a", tmp_path)
    assert caught.value.code == "F536"


def test_a_step_that_never_ended_reads_as_running(tmp_path: Path) -> None:
    tracker = LocalTrackingClient("proj", storage_dir=tmp_path)
    run_app(tracker, "a", [("s", {}, {}, None)])
    tracker.pre_run_step(app_id="a", sequence_id=1, action="t", inputs={}, state={})
    run = load_run("proj", "a", tmp_path)
    assert [s.status for s in run.steps] == ["completed", "running"]
    assert run.status == "running"


def test_children_file_names_each_child_once_per_event(tmp_path: Path) -> None:
    tracker = LocalTrackingClient("proj", storage_dir=tmp_path)
    run_app(tracker, "p", [])
    run_app(tracker, "c", [], spawned_by=pointer("p"))
    lines = (tmp_path / "proj" / "p" / CHILDREN_FILENAME).read_text().splitlines()
    assert [json.loads(line)["child"] for line in lines] == ["c"]


def test_bad_project_names_and_missing_runs_are_flow_errors(tmp_path: Path) -> None:
    with pytest.raises(TrackingConfigError) as caught:
        LocalTrackingClient("../up", storage_dir=tmp_path)
    assert caught.value.code == "F534" and isinstance(caught.value, ValueError)
    with pytest.raises(RunNotFoundError) as missing:
        load_run("proj", "nope", tmp_path)
    assert missing.value.code == "F535" and isinstance(missing.value, LookupError)
    assert list_runs("empty", tmp_path) == []


def test_a_storage_dir_under_a_regular_file_is_f537_from_build_naming_the_file(
    tmp_path: Path,
) -> None:
    from flowc.runtime import ApplicationBuilder, action

    @action(reads=[], writes=["n"])
    def start(state):  # type: ignore[no-untyped-def]
        return state.update(n=1)

    (tmp_path / "plain").write_text("a file\n")
    tracker = LocalTrackingClient("proj", storage_dir=tmp_path / "plain" / "track")
    builder = (
        ApplicationBuilder()
        .with_actions(start=start)
        .with_transitions()
        .with_entrypoint("start")
        .with_tracker(tracker)
    )
    with pytest.raises(TrackingStorageError) as caught:
        builder.build()
    error = caught.value
    assert error.code == "F537" and isinstance(error, OSError)  # still caught as an OSError
    assert str(tmp_path / "plain" / "track" / "proj") in error.message
    assert error.hints[0].startswith(f"{tmp_path / 'plain'} is a file, not a directory")
    assert isinstance(error.__cause__, NotADirectoryError)


def test_a_tracking_file_that_cannot_be_read_is_f537(tmp_path: Path) -> None:
    tracker = LocalTrackingClient("proj", storage_dir=tmp_path)
    run_app(tracker, "app", [])
    (tmp_path / "proj" / "app" / LOG_FILENAME).mkdir()  # where the step log should be
    with pytest.raises(TrackingStorageError) as caught:
        load_run("proj", "app", tmp_path)
    assert caught.value.code == "F537" and LOG_FILENAME in caught.value.message
