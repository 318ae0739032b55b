"""W5 — W1 (a 1,000-branch MapStates of trivial tasks, 8 threads) with SQLite persistence
cascaded to every branch, flowc against apache-burr 0.43, in the same run.

    .venv/bin/python bench/persistence.py [--rounds 5] [--repeats 3] [--n 1000]

For each framework, in every round and in fresh processes: W1 without persistence, then W5
(``with_state_persister`` on the parent, cascaded to each child) with the database on disk and on
tmpfs (/dev/shm), in "save" mode and in "resume" mode (also ``initialize_from``, so every child
loads before it runs). Ratios are W5 ÷ the same framework's W1 in the same round, summarised as
median (min–max) over rounds. After each timed run the rows are counted through a fresh
connection, before anything is closed: every branch reported finished must already be there.
flowc's persister writes from a committer thread by default; it is also measured with
``writer="process"`` (a writer process beside the run's), with ``synchronous=NORMAL``, and with a
persister that saves nothing
("sync=NOOP": the cost of the persisted branch path itself, without any database work).
Finally, a 10,000-branch persisted map runs once per framework under a 1,024 fd limit.

The workload code is the shared one (../shared/bench/adapters/burr_shaped.py).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import gc
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SHARED_BENCH = Path(__file__).resolve().parents[2] / "shared" / "bench"
DB_DIRS = {"disk": tempfile.gettempdir(), "tmpfs": "/dev/shm"}


# -- one cell, in its own process -----------------------------------------------------------------


class _NoopPersister:
    """Saves nothing: isolates the cost of the persisted child path from the database's."""

    def __init__(self, path: str) -> None:
        self.path = path
        import sqlite3

        with sqlite3.connect(path) as connection:  # the shared teardown counts this table
            connection.execute("CREATE TABLE IF NOT EXISTS burr_state (app_id)")
        self.connection = sqlite3.connect(path)

    def initialize(self) -> None:
        return None

    def save(self, *args: Any, **kwargs: Any) -> None:
        return None

    def load(self, *args: Any, **kwargs: Any) -> None:
        return None

    def list_app_ids(self, *args: Any, **kwargs: Any) -> list[str]:
        return []

    def copy(self) -> _NoopPersister:
        return self


def _adapter(framework: str, synchronous: str, writer: str, made: list[Any]) -> Any:
    sys.path.insert(0, str(SHARED_BENCH))
    from adapters.burr_shaped import BurrShapedAdapter, burr_api, flowc_api

    if framework == "burr":
        return BurrShapedAdapter(burr_api())
    api = flowc_api()

    def persister(path: str) -> Any:
        from flowc.runtime.persistence import SQLitePersister

        if synchronous == "NOOP":  # what the step loop costs with a persister attached
            return _NoopPersister(path)
        p = SQLitePersister(db_path=path, synchronous=synchronous, writer=writer)
        p.initialize()
        made.append(p)
        return p

    return BurrShapedAdapter(dataclasses.replace(api, persister=persister))


def run_cell(args: argparse.Namespace) -> dict[str, Any]:
    sys.path.insert(0, str(SHARED_BENCH))
    from adapters.base import Params, expected

    made: list[Any] = []
    adapter = _adapter(args.framework, args.synchronous, args.writer, made)
    workload = "w1" if args.mode == "none" else "w5"
    params = Params(
        n=args.n,
        workers=8,
        variant="" if workload == "w1" else args.mode,
        db_dir=DB_DIRS.get(args.db, args.db),
    )
    prepared = adapter.prepare(workload, params)
    walls, facts, commits = [], [], []
    for i in range(args.warmup + args.repeats):
        prepared.setup()
        gc.collect()
        t0 = time.perf_counter()
        out = prepared.run()
        wall = time.perf_counter() - t0
        if made:
            commits.append(made[-1]._shared().committer.commits)
        fact = prepared.teardown()  # counts rows through a fresh connection, then closes
        if made:
            _discard(made.pop())
        if sorted(out["values"]) != expected(workload, args.n):
            raise AssertionError(f"{args.framework}: wrong result")
        if i >= args.warmup:
            walls.append(wall)
            facts.append(fact)
    return {
        "wall_s": walls,
        "rows": [f.get("persisted_rows") for f in facts],
        "commits": commits[args.warmup :],
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _discard(persister: Any) -> None:
    """Stop a persister whose file the shared teardown deleted, and remove the -wal and -shm
    files SQLite keeps for a deleted database (they used to pile up in /dev/shm)."""
    persister.close()
    for suffix in ("-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.remove(persister.db_path + suffix)


# -- the driver ---------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Cell:
    framework: str
    mode: str  # none | save | resume
    db: str = ""  # disk | tmpfs
    synchronous: str = "FULL"
    writer: str = "thread"

    @property
    def label(self) -> str:
        if self.mode == "none":
            return f"{self.framework} w1"
        sync = "" if self.synchronous == "FULL" else f" sync={self.synchronous}"
        if self.framework == "flowc" and self.writer != "thread":
            sync += f" writer={self.writer}"
        return f"{self.framework} {self.mode} {self.db}{sync}"


CELLS = (
    Cell("flowc", "none"),
    Cell("flowc", "save", "disk"),
    Cell("flowc", "save", "tmpfs"),
    Cell("flowc", "resume", "disk"),
    Cell("flowc", "resume", "tmpfs"),
    Cell("flowc", "save", "disk", writer="process"),
    Cell("flowc", "save", "tmpfs", writer="process"),
    Cell("flowc", "save", "disk", "NORMAL"),
    Cell("flowc", "save", "tmpfs", "NOOP"),
    Cell("burr", "none"),
    Cell("burr", "save", "disk"),
    Cell("burr", "save", "tmpfs"),
    Cell("burr", "resume", "disk"),
    Cell("burr", "resume", "tmpfs"),
)


def _spawn(cell: Cell, n: int, repeats: int, warmup: int, nofile: int | None = None) -> dict:
    command = [
        sys.executable,
        __file__,
        "--cell",
        cell.framework,
        cell.mode,
        cell.db or "disk",
        "--n",
        str(n),
        "--repeats",
        str(repeats),
        "--warmup",
        str(warmup),
        "--synchronous",
        cell.synchronous,
        "--writer",
        cell.writer,
    ]

    def limit() -> None:
        if nofile is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

    done = subprocess.run(command, capture_output=True, text=True, preexec_fn=limit, timeout=900)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["?"])[-1]
        return {"error": last}
    return json.loads(done.stdout.splitlines()[-1])


def _summary(values: list[float], fmt: str = "{:.2f}") -> str:
    if not values:
        return "-"
    med = statistics.median(values)
    return f"{fmt.format(med)} ({fmt.format(min(values))}–{fmt.format(max(values))})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cell", nargs=3, metavar=("FRAMEWORK", "MODE", "DB"))
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--synchronous", default="FULL")
    parser.add_argument("--writer", default="thread", choices=("process", "thread"))
    parser.add_argument("--big-n", type=int, default=10_000)
    args = parser.parse_args(argv)
    if args.cell:
        args.framework, args.mode, args.db = args.cell
        print(json.dumps(run_cell(args)))
        return 0

    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    walls: dict[Cell, list[list[float]]] = {cell: [] for cell in CELLS}
    extra: dict[Cell, list[dict]] = {cell: [] for cell in CELLS}
    for round_no in range(args.rounds):
        order = CELLS if round_no % 2 == 0 else tuple(reversed(CELLS))
        for cell in order:
            result = _spawn(cell, args.n, args.repeats, args.warmup)
            if "error" in result:
                print(f"{cell.label}: {result['error']}", file=sys.stderr)
                walls[cell].append([])
                continue
            walls[cell].append(result["wall_s"])
            extra[cell].append(result)
        print(f"round {round_no + 1}/{args.rounds} done", file=sys.stderr)

    print(f"load average before: {load_before:.2f}, after: {os.getloadavg()[0]:.2f}")
    print(f"elapsed {time.perf_counter() - started:.0f} s, {args.rounds} rounds\n")
    print("| cell | wall ms | × own W1 (same round) | rows durable at return | commits/run |")
    print("|---|---|---|---|---|")
    for cell in CELLS:
        base = Cell(cell.framework, "none")
        ratios = []
        for mine, ref in zip(walls[cell], walls[base], strict=True):
            if mine and ref:
                ratios.append(statistics.median(mine) / statistics.median(ref))
        all_walls = [w * 1000 for run in walls[cell] for w in run]
        rows = sorted({r for e in extra[cell] for r in e["rows"] if r is not None})
        commits = [c for e in extra[cell] for c in e["commits"]]
        print(
            f"| {cell.label} | {_summary(all_walls, '{:.1f}')} | "
            f"{'1' if cell.mode == 'none' else _summary(ratios) + '×'} | "
            f"{', '.join(map(str, rows)) or '-'} | {_summary(commits, '{:.0f}')} |"
        )

    print(f"\n{args.big_n:,} branches, persisted, under `ulimit -n 1024` (one run each):")
    for framework in ("flowc", "burr"):
        cell = Cell(framework, "save", "tmpfs")
        result = _spawn(cell, args.big_n, repeats=1, warmup=0, nofile=1024)
        if "error" in result:
            print(f"- {framework}: FAILED — {result['error']}")
        else:
            print(
                f"- {framework}: ok, {result['wall_s'][0]:.2f} s, rows {result['rows'][0]}, "
                f"peak RSS {result['peak_rss_mb']:.0f} MB"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
