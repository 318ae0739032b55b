"""The SQLite writer process (``SQLitePersister(writer="process")``): it writes the
same rows as the committer thread, refuses what cannot be saved before anything is written, says
so when it dies instead of hanging, keeps what it received when the saving process dies, and
stops with its persister. A writer that cannot be started falls back to the committer thread."""

from __future__ import annotations

import datetime as dt
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from flowc import FlowError
from flowc.runtime.persistence import PersistenceError, PersisterConfigError, SQLitePersister
from flowc.runtime.persistence_commit import GroupCommitter
from flowc.runtime.persistence_writer import FRAME_ROWS, WriterProcess
from flowc.runtime.serialization import StateSerializationError
from flowc.runtime.state import State

CRASH = Path(__file__).parent / "crash"
ENV = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}


def stored(db: Path) -> list[tuple]:
    """Every row as another connection sees it, without ids and times."""
    with sqlite3.connect(db) as connection:
        return connection.execute(
            "SELECT partition_key, app_id, sequence_id, position, status, state FROM burr_state "
            "ORDER BY id"
        ).fetchall()


def writer_of(persister: SQLitePersister) -> WriterProcess:
    committer = persister._shared().committer
    assert isinstance(committer, WriterProcess)
    return committer


STATES = [
    State({"i": 1, "name": "ünïcode ☃", "ok": True, "none": None, "x": 1.5}),
    State({}),
    State({"big": 10**30, "neg": -0.0, "nan": float("nan"), "inf": float("inf")}),
    State({"nested": {"a": [1, 2, {"b": (3, 4)}]}, "when": dt.date(2026, 11, 29)}),
    State({"ids": {1, 2, 3}, "raw": b"\x00\xff"}),
    {"plain": "dict", "n": 3},
    {1: "an int key", "s": "x"},
]


def save_all(persister: SQLitePersister) -> None:
    child = persister.copy()
    for i, state in enumerate(STATES):
        child.save("", f"child-{i}", i, "step", state, "completed")
        persister.save("part", f"parent-{i}", i, "step", state, "failed")


def test_the_writer_process_stores_exactly_the_rows_the_committer_thread_stores(
    tmp_path: Path,
) -> None:
    by_process = SQLitePersister(tmp_path / "process.db", writer="process")
    by_thread = SQLitePersister(tmp_path / "thread.db")
    assert isinstance(by_process._shared().committer, WriterProcess)
    assert type(by_thread._shared().committer) is GroupCommitter
    save_all(by_process)
    save_all(by_thread)
    assert stored(tmp_path / "process.db") == stored(tmp_path / "thread.db")
    assert len(stored(tmp_path / "process.db")) == 2 * len(STATES)
    loaded = by_process.load("", "child-0")
    assert loaded is not None and loaded["state"].get_all() == STATES[0].get_all()
    by_process.close()
    by_thread.close()


def test_an_unsavable_value_fails_in_the_saving_thread_before_anything_is_sent(
    tmp_path: Path,
) -> None:
    db = tmp_path / "refused.db"
    persister = SQLitePersister(db, writer="process")
    child = persister.copy()
    with pytest.raises(StateSerializationError) as caught:
        child.save("", "c", 0, "step", State({"ok": 1, "handle": object()}), "completed")
    assert caught.value.code == "F530" and caught.value.key == "handle"
    persister.save("", "p", 0, "step", State({"ok": 1}), "completed")
    assert [row[1] for row in stored(db)] == ["p"]
    persister.close()


def test_saves_through_copies_are_sent_in_batches_and_durable_once_the_parent_saves(
    tmp_path: Path,
) -> None:
    db = tmp_path / "batches.db"
    parent = SQLitePersister(db, writer="process")
    writer = writer_of(parent)
    children = [parent.copy() for _ in range(1000)]
    with ThreadPoolExecutor(8) as pool:
        list(
            pool.map(
                lambda i: children[i].save("", f"c-{i}", 0, "w", {"i": i}, "completed"), range(1000)
            )
        )
    assert writer.sent <= writer.queued and writer.queued - writer.sent < FRAME_ROWS
    parent.save("", "parent", 1, "fan_out", {"done": True}, "completed")
    assert len(stored(db)) == 1001
    assert writer.commits < 1001 / 4, "rows were not grouped into shared commits"
    parent.close()


def test_a_killed_writer_makes_waiting_and_later_saves_fail_instead_of_hanging(
    tmp_path: Path,
) -> None:
    persister = SQLitePersister(tmp_path / "killed.db", writer="process")
    persister.save("", "a", 0, "step", {"i": 0}, "completed")
    writer = writer_of(persister)
    assert writer.process is not None
    os.kill(writer.process.pid, signal.SIGKILL)
    writer.process.wait()
    started = time.monotonic()
    for sequence_id in (1, 2):
        with pytest.raises(PersistenceError) as caught:
            persister.save("", "a", sequence_id, "step", {"i": sequence_id}, "completed")
        assert isinstance(caught.value, FlowError) and caught.value.code == "F532"
        assert "writer process stopped" in caught.value.message
        assert caught.value.diagnostics[0].hints
    assert time.monotonic() - started < 10
    assert [row[2] for row in stored(tmp_path / "killed.db")] == [0]
    persister.close()  # does not hang or raise either


def test_the_writer_keeps_every_row_it_received_when_the_saving_process_is_killed(
    tmp_path: Path,
) -> None:
    db = tmp_path / "orphan.db"
    done = subprocess.run(
        [sys.executable, str(CRASH / "handoff_then_die.py"), str(db), "1000"],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=60,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    writer_pid, sent = map(int, done.stdout.split())
    deadline = time.monotonic() + 30
    while _running(writer_pid):  # the orphaned writer commits what it has, then exits
        assert time.monotonic() < deadline, "the writer did not exit after its parent died"
        time.sleep(0.01)
    with sqlite3.connect(db) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert 0 < sent <= 1000
    assert [row[2] for row in stored(db)] == list(range(sent))  # all it was sent, no more


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_close_stops_the_writer_even_while_a_forked_process_holds_its_pipe(
    tmp_path: Path,
) -> None:
    persister = SQLitePersister(tmp_path / "fork.db", writer="process")
    persister.copy().save("", "a", 0, "step", {"i": 0}, "completed")
    writer = writer_of(persister)
    child = os.fork()
    if child == 0:  # holds every descriptor of the parent, including the writer's pipe
        time.sleep(5)
        os._exit(0)
    try:
        started = time.monotonic()
        persister.close()
        assert time.monotonic() - started < 4
        assert writer.process is not None and writer.process.returncode == 0
        assert len(stored(tmp_path / "fork.db")) == 1
        with pytest.raises(PersistenceError):
            persister.save("", "a", 1, "step", {"i": 1}, "completed")
    finally:
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)


def test_rows_still_pending_at_interpreter_exit_are_written(tmp_path: Path) -> None:
    db = tmp_path / "exit.db"
    script = (
        "import sys\n"
        "from flowc.runtime.persistence import SQLitePersister\n"
        "p = SQLitePersister(sys.argv[1], writer='process'); c = p.copy()\n"
        "for i in range(10): c.save('', f'c-{i}', 0, 'w', {'i': i}, 'completed')\n"
    )
    subprocess.run([sys.executable, "-c", script, str(db)], env=ENV, check=True, timeout=60)
    assert len(stored(db)) == 10


def test_without_an_interpreter_to_start_the_persister_writes_from_a_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-such-python"))
    persister = SQLitePersister(tmp_path / "fallback.db", writer="process")
    assert type(persister._shared().committer) is GroupCommitter
    persister.copy().save("", "c", 0, "w", {"i": 0}, "completed")
    persister.save("", "p", 0, "w", {"i": 1}, "completed")
    assert len(stored(tmp_path / "fallback.db")) == 2
    persister.close()


def test_connect_arguments_that_cannot_be_sent_keep_the_writer_in_this_process(
    tmp_path: Path,
) -> None:
    class Connection(sqlite3.Connection):
        pass

    persister = SQLitePersister(
        tmp_path / "factory.db", connect_kwargs={"factory": Connection}, writer="process"
    )
    assert type(persister._shared().committer) is GroupCommitter
    persister.save("", "p", 0, "w", {"i": 1}, "completed")
    assert len(stored(tmp_path / "factory.db")) == 1
    persister.close()


def test_the_writer_choice_is_checked() -> None:
    with pytest.raises(PersisterConfigError) as caught:
        SQLitePersister("unused.db", writer="fork")  # type: ignore[arg-type]
    assert caught.value.code == "F533"


def test_a_row_saved_through_a_copy_is_sent_and_committed_within_the_linger(
    tmp_path: Path,
) -> None:
    """No frame fills and nobody waits, yet a finished branch must not stay unsaved for long."""
    db = tmp_path / "linger.db"
    persister = SQLitePersister(db, linger_s=0.01, writer="process")
    persister.initialize()
    persister.copy().save("", "lonely", 0, "step", {"i": 0}, "completed")
    deadline = time.monotonic() + 10
    while not stored(db):
        assert time.monotonic() < deadline, "the row was never sent to the writer"
        time.sleep(0.01)
    assert [row[1] for row in stored(db)] == ["lonely"]
    persister.close()


def test_rows_the_pipe_cannot_carry_fail_in_their_place_and_the_rest_are_saved(
    tmp_path: Path,
) -> None:
    db = tmp_path / "unsendable.db"
    persister = SQLitePersister(db, writer="process")
    child = persister.copy()
    child.save("", "before", 0, "step", {"i": 0}, "completed")
    persister.flush()
    child.save("", uuid.uuid4(), 0, "step", {"i": 1}, "completed")  # type: ignore[arg-type]
    with pytest.raises(PersistenceError, match="could not be sent"):
        persister.save("", "parent", 0, "step", {"i": 2}, "completed")
    persister.save("", "after", 0, "step", {"i": 3}, "completed")
    assert [row[1] for row in stored(db)] == ["before", "after"]
    persister.close()
