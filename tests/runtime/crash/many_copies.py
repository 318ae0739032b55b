"""Run as a script: 10,000 child copies of one SQLitePersister, each saving from a thread pool,
under a 1,024 file-descriptor limit. Prints the number of rows written."""

from __future__ import annotations

import resource
import sqlite3
import sys
from concurrent.futures import ThreadPoolExecutor

from flowc.runtime.persistence import SQLitePersister


def main(db_path: str, branches: int) -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))
    parent = SQLitePersister(db_path)
    parent.initialize()
    copies = (parent.copy() for _ in range(branches))  # made in the submitting thread

    def branch(args: tuple[int, SQLitePersister]) -> None:
        i, child = args
        child.save("", f"child-{i}", 1, "work", {"i": i, "out": 2 * i + 1}, "completed")

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(branch, enumerate(copies)))
    parent.save("", "parent", 1, "fan_out", {"n": branches}, "completed")
    with sqlite3.connect(db_path) as connection:
        print(connection.execute("SELECT COUNT(*) FROM burr_state").fetchone()[0])


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
