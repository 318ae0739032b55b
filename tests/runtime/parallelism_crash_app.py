"""Run as a script: a map over N branches persisted to SQLite, then a summary step; killed with
SIGKILL part-way (by itself, or by the test) and resumed by running the same command again.

    python parallelism_crash_app.py DB EFFECTS [--app-id ID] [--n N] [--concurrency C]
                                    [--sleep-ms MS] [--kill-at I] [--print results|state]

Branch ``i`` appends ``"<i> <its child app id>"`` to EFFECTS (one ``write`` on an O_APPEND
descriptor, so a kill loses nothing already written), sleeps MS, and writes ``out = 10 * i``;
the map collects ``results``, then ``summarise`` writes their ``total``. With ``--kill-at I``
(default 3; negative: never) branch I kills the process the first time it runs (a marker file
``EFFECTS.killed`` remembers it). Running the command again resumes the run (``initialize_from``
with the same app id) and prints ``results`` (default) or the whole final state as JSON.

The defaults are tests/runtime/test_parallelism_children.py's (six branches one at a time,
killing itself at branch 3: child ids survive the resume); tests/runtime/crash_resume.py runs it
with a thousand branches, eight at a time, and kills it from outside at random moments.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import time
from typing import Any

from flowc.runtime import ApplicationBuilder, State, action
from flowc.runtime.executors import MultiThreadedExecutor
from flowc.runtime.parallelism import MapOptions, MapStates
from flowc.runtime.persistence import SQLitePersister


@action(reads=["i"], writes=["out"])
def work(state: State, __context: Any, effects: str, sleep_ms: float, kill_at: int) -> State:
    fd = os.open(effects, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, f"{state['i']} {__context.app_id}\n".encode())
    finally:
        os.close(fd)
    marker = effects + ".killed"
    if state["i"] == kill_at and not os.path.exists(marker):
        open(marker, "w").close()
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(sleep_ms / 1000)
    return state.update(out=10 * state["i"])


class FanOut(MapStates):
    def __init__(self, args: argparse.Namespace) -> None:
        super().__init__()
        self.options = MapOptions(max_concurrency=args.concurrency)
        self.work = work.bind(effects=args.effects, sleep_ms=args.sleep_ms, kill_at=args.kill_at)

    def action(self, state: State, inputs: dict[str, Any]) -> Any:
        return self.work

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


def main(args: argparse.Namespace) -> None:
    persister = SQLitePersister(args.db)
    persister.initialize()
    app = (
        ApplicationBuilder()
        .with_actions(fan_out=FanOut(args), summarise=summarise)
        .with_transitions(("fan_out", "summarise"))
        .with_parallel_executor(MultiThreadedExecutor(max_concurrency=args.concurrency))
        .with_state_persister(persister)
        .initialize_from(
            persister,
            resume_at_next_action=True,
            default_state={"n": args.n},
            default_entrypoint="fan_out",
        )
        .with_identifiers(app_id=args.app_id)
        .build()
    )
    _, _, state = app.run(halt_after=["summarise"])
    if args.print == "state":
        print(json.dumps({k: v for k, v in state.get_all().items() if not k.startswith("__")}))
    else:
        print(json.dumps(state["results"]))


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("db")
    parser.add_argument("effects")
    parser.add_argument("--app-id", default="crashing-parent")
    parser.add_argument("--n", type=int, default=6)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--sleep-ms", type=float, default=0.0)
    parser.add_argument("--kill-at", type=int, default=3)
    parser.add_argument("--print", choices=("results", "state"), default="results")
    return parser.parse_args()


if __name__ == "__main__":
    main(arguments())
