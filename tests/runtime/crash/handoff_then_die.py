"""Run as a script: hand N rows to the SQLite writer process through a copy (saves that do not
wait), print the writer's pid and how many rows it was sent, then SIGKILL this process while no
more can be sent. Every row sent must be committed by the writer, which then exits; the rows
still pending here were never sent."""

from __future__ import annotations

import os
import signal
import sys

from flowc.runtime.persistence import SQLitePersister
from flowc.runtime.persistence_writer import WriterProcess


def main(db_path: str, rows: int) -> None:
    persister = SQLitePersister(db_path, writer="process")
    persister.initialize()
    writer = persister._shared().committer
    assert isinstance(writer, WriterProcess) and writer.process is not None
    child = persister.copy()
    for i in range(rows):
        child.save("", f"child-{i}", i, "work", {"i": i}, "completed")
    with writer.lock:  # the thread reading the writer's answers sends under this lock
        print(writer.process.pid, writer.sent, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
