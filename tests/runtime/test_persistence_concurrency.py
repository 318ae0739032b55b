"""SQLitePersister under real concurrency: several processes writing one file, a process killed
in the middle of saving, and ten thousand child copies under a 1,024 file-descriptor limit."""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from flowc.runtime.persistence import SQLitePersister
from flowc.runtime.serialization import SerializationRegistry

CRASH = Path(__file__).parent / "crash"
ENV = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}


def write_rows(persister: SQLitePersister, writer: int, count: int) -> None:
    """Runs in a separate process: half the rows through waiting saves, half through copies."""
    child = persister.copy()
    for i in range(count):
        target = persister if i % 2 else child
        target.save("", f"w{writer}-{i}", 1, "step", {"writer": writer, "i": i}, "completed")
    persister.flush()


def test_several_processes_write_one_database_at_once(tmp_path: Path) -> None:
    db = tmp_path / "shared.db"
    persister = SQLitePersister(db)
    persister.save("", "before-fork", 1, "a", {"n": 0}, "completed")  # store opened pre-fork
    processes = [
        multiprocessing.get_context(method).Process(target=write_rows, args=(persister, w, 150))
        for w, method in enumerate(["fork", "fork", "spawn", "spawn"])
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(60)
        assert process.exitcode == 0
    with sqlite3.connect(db) as connection:
        (count,) = connection.execute("SELECT COUNT(*) FROM burr_state").fetchone()
        (mode,) = connection.execute("PRAGMA journal_mode").fetchone()
    assert count == 1 + 4 * 150
    assert mode == "wal"
    assert len(persister.list_app_ids("")) == 1 + 4 * 150
    persister.close()


def test_a_killed_writer_leaves_every_returned_save_and_no_half_row(tmp_path: Path) -> None:
    db = tmp_path / "killed.db"
    process = subprocess.Popen(
        [sys.executable, str(CRASH / "save_loop.py"), str(db), "victim"],
        stdout=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "ready"
    time.sleep(random.uniform(0.2, 0.6))
    os.kill(process.pid, signal.SIGKILL)
    reported = [int(line) for line in process.stdout.read().split()]
    process.wait()
    assert reported, "the writer saved nothing before the kill"
    with sqlite3.connect(db) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        stored = connection.execute("SELECT sequence_id, state FROM burr_state").fetchall()
    sequence_ids = sorted(seq for seq, _ in stored)
    # every save that returned is there; at most the one in progress is too, nothing else
    assert sequence_ids[: len(reported)] == reported
    assert len(sequence_ids) <= len(reported) + 1
    registry = SerializationRegistry.default()
    for seq, text in stored:
        assert registry.decode_state(text)["seq"] == seq


def test_ten_thousand_children_fit_in_a_1024_descriptor_limit(tmp_path: Path) -> None:
    db = tmp_path / "many.db"
    result = subprocess.run(
        [sys.executable, str(CRASH / "many_copies.py"), str(db), "10000"],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "10001"
