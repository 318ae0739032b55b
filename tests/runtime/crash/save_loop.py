"""Run as a script: save ever larger states in a loop, printing each sequence id once its save
has returned, until killed. The test kills it with SIGKILL and inspects the database."""

from __future__ import annotations

import sys

from flowc.runtime.persistence import SQLitePersister


def main(db_path: str, writer: str) -> None:
    persister = SQLitePersister(db_path)
    persister.initialize()
    print("ready", flush=True)
    sequence_id = 0
    while True:
        sequence_id += 1
        state = {"seq": sequence_id, "blob": ["x" * 100] * (sequence_id % 500), "who": writer}
        persister.save("", writer, sequence_id, "step", state, "completed")
        print(sequence_id, flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
