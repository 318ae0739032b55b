"""Run as a script: a persisted map whose branch 3 kills the process (SIGKILL) the first time.

    python parallelism_crash_app.py DB IDS_FILE

Branches run one at a time; each appends ``"<i> <its app id>"`` to IDS_FILE (one ``write`` on
an O_APPEND descriptor, so the kill loses nothing written). The same command resumes the killed
run (``initialize_from``, same parent app id) and prints the final results as JSON. Used by
tests/runtime/test_parallelism_children.py.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from typing import Any

from flowc.runtime import ApplicationBuilder, State, action
from flowc.runtime.parallelism import MapOptions, MapStates
from flowc.runtime.persistence import SQLitePersister


@action(reads=["i"], writes=["out"])
def branch(state: State, __context: Any) -> State:
    ids_file = os.environ["FLOWC_IDS_FILE"]
    fd = os.open(ids_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, f"{state['i']} {__context.app_id}\n".encode())
    finally:
        os.close(fd)
    marker = ids_file + ".killed"
    if state["i"] == 3 and not os.path.exists(marker):
        open(marker, "w").close()
        os.kill(os.getpid(), signal.SIGKILL)
    return state.update(out=10 * state["i"])


class FanOut(MapStates):
    options = MapOptions(max_concurrency=1)

    def action(self, state: State, inputs: dict[str, Any]) -> Any:
        return branch

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


def main(db_path: str) -> None:
    persister = SQLitePersister(db_path)
    persister.initialize()
    app = (
        ApplicationBuilder()
        .with_actions(fan_out=FanOut())
        .with_state_persister(persister)
        .initialize_from(
            persister,
            resume_at_next_action=True,
            default_state={"n": 6},
            default_entrypoint="fan_out",
        )
        .with_identifiers(app_id="crashing-parent")
        .build()
    )
    _, _, state = app.run(halt_after=["fan_out"])
    print(json.dumps(state["results"]))


if __name__ == "__main__":
    os.environ["FLOWC_IDS_FILE"] = sys.argv[2]
    main(sys.argv[1])
