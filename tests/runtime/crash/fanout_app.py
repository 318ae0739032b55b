"""Run as a script: a MapStates over N branches persisted to SQLite, resumable by app id.

    python fanout_app.py DB SIDE_EFFECTS APP_ID N SLEEP_MS

Each branch appends its index to SIDE_EFFECTS (one ``write`` on an O_APPEND descriptor, so a
``kill -9`` loses nothing already written), sleeps, and writes ``out = 2 * i + 1``. The same
command resumes a killed run: ``initialize_from`` with the same app id. Prints the final state as
JSON on stdout.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

from flowc.runtime import ApplicationBuilder, State, action
from flowc.runtime.executors import MultiThreadedExecutor
from flowc.runtime.parallelism import MapStates
from flowc.runtime.persistence import SQLitePersister

SIDE_EFFECTS = os.environ.get("FLOWC_SIDE_EFFECTS", "")
SLEEP_S = float(os.environ.get("FLOWC_SLEEP_MS", "0")) / 1000


@action(reads=["i"], writes=["out"])
def work(state: State) -> State:
    fd = os.open(SIDE_EFFECTS, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, f"{state['i']}\n".encode())
    finally:
        os.close(fd)
    time.sleep(SLEEP_S)
    return state.update(out=2 * state["i"] + 1)


class FanOut(MapStates):
    def action(self, state: State, inputs: dict[str, Any]) -> Any:
        return work

    def states(self, state: State, context: Any, inputs: dict[str, Any]) -> Any:
        for i in range(state["n"]):
            yield state.update(i=i)

    def reduce(self, state: State, states: Any) -> State:
        return state.update(results=[s["out"] for s in states])

    @property
    def reads(self) -> list[str]:
        return ["n"]

    @property
    def writes(self) -> list[str]:
        return ["results"]


@action(reads=["results"], writes=["total"])
def summarise(state: State) -> State:
    return state.update(total=sum(state["results"]))


def main(db_path: str, app_id: str, n: int) -> None:
    persister = SQLitePersister(db_path)
    persister.initialize()
    app = (
        ApplicationBuilder()
        .with_actions(fan_out=FanOut(), summarise=summarise)
        .with_transitions(("fan_out", "summarise"))
        .with_parallel_executor(MultiThreadedExecutor(max_concurrency=8))
        .with_state_persister(persister)
        .initialize_from(
            persister,
            resume_at_next_action=True,
            default_state={"n": n},
            default_entrypoint="fan_out",
        )
        .with_identifiers(app_id=app_id)
        .build()
    )
    print("started", flush=True)
    _, _, state = app.run(halt_after=["summarise"])
    values = {k: v for k, v in state.get_all().items() if not k.startswith("__")}
    print(json.dumps(values), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
