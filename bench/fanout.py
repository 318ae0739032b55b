"""Fan-out overhead of flowc's parallel maps against a raw thread pool and Apache Burr 0.43.

    .venv/bin/python bench/fanout.py                      # W1 N=100/1,000/10,000, W2, W4
    .venv/bin/python bench/fanout.py --rounds 3 --repeats 5
    .venv/bin/python bench/fanout.py --trace-w2 10           # where W2's time goes (in-process)

Every cell runs the shared harness (`../shared/bench/bench.py`: warm-up, timed runs, a
correctness check, peak RSS) in a fresh process, one framework after the other within a round,
so ratios compare runs made seconds apart. ``--trace-w2`` instead runs W2 with a raw pool and
with flowc alternately in this process and reports when branches started and ended relative to
the start of the run (the harness cannot see inside a run).

Targets (issue 3): W1 ≤ 1.5× raw per task and peak RSS added at N=10,000 within 5 MB of raw's;
W2 efficiency ≥ 94 %; W4 ≤ 40 µs per branch. Burr is skipped (reported as such) when
`apache-burr` is not installed (`pip install -e '.[dev,bench]'`).
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SHARED = ROOT.parent / "shared" / "bench"
CELLS: tuple[tuple[str, int], ...] = (
    ("w1", 100),
    ("w1", 1000),
    ("w1", 10_000),
    ("w2", 400),
    ("w4", 200),
)
FRAMEWORKS = ("raw", "flowc", "burr")
IDEAL_W2_S = 400 * 0.02 / 50  # 400 sleeps of 20 ms, 50 at a time
BURR_W4_ANCHOR_US = 182  # Burr's W4 µs/branch in ../shared/bench/ANCHORS.md (issue 3)


def _uptime_load() -> str:
    """``uptime``'s load averages (1, 5, 15 min): other engineers share the machine."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


def _verdicts(medians: dict[tuple[str, int, str], dict[str, float]]) -> list[str]:
    """Each issue-3 target, met or not, from the medians of flowc against raw (and Burr)."""
    lines = []
    for n in (100, 1000, 10_000):
        figures = medians.get(("w1", n, "flowc"))
        if figures:
            ratio = figures["x_raw"]
            lines.append(
                f"W1 N={n}: {ratio:.2f}× raw per task (target ≤ 1.5): {_met(ratio <= 1.5)}"
            )
    flowc, raw = medians.get(("w1", 10_000, "flowc")), medians.get(("w1", 10_000, "raw"))
    if flowc and raw:
        extra = flowc["rss_added_mb"] - raw["rss_added_mb"]
        lines.append(
            f"W1 N=10,000 peak RSS added: flowc {flowc['rss_added_mb']:.1f} MB, raw "
            f"{raw['rss_added_mb']:.1f} MB, difference {extra:+.1f} MB (target ≤ +5): "
            f"{_met(extra <= 5)}"
        )
    w2 = medians.get(("w2", 400, "flowc"))
    if w2:
        efficiency = IDEAL_W2_S / (w2["wall_ms"] / 1e3)
        lines.append(f"W2 efficiency {efficiency:.0%} (target ≥ 94 %): {_met(efficiency >= 0.94)}")
    w4, w4_burr = medians.get(("w4", 200, "flowc")), medians.get(("w4", 200, "burr"))
    if w4:
        per = w4["us_per_task"]
        line = f"W4 {per:.1f} µs/branch (target ≤ 40): {_met(per <= 40)}"
        if w4_burr:
            scaled = per * BURR_W4_ANCHOR_US / w4_burr["us_per_task"]
            line += (
                f"; Burr {w4_burr['us_per_task']:.1f} µs/branch in this run, so at Burr's "
                f"anchor of {BURR_W4_ANCHOR_US} µs flowc would take {scaled:.1f} µs"
            )
        lines.append(line)
    return lines


def _met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def run_cell(shared: Path, framework: str, workload: str, n: int, repeats: int) -> dict[str, Any]:
    command = [
        sys.executable,
        str(shared / "bench.py"),
        "--framework",
        framework,
        "--workload",
        workload,
        "--n",
        str(n),
        "--repeats",
        str(repeats),
    ]
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    done = subprocess.run(command, capture_output=True, text=True, cwd=shared, env=env, check=False)
    if done.returncode != 0:
        return {"skipped": done.stderr.strip().splitlines()[-1] if done.stderr else "failed"}
    return json.loads(done.stdout)


def summarise(result: dict[str, Any], n: int) -> dict[str, float]:
    wall = statistics.median(result["wall_s"])
    return {
        "wall_ms": wall * 1e3,
        "us_per_task": wall / n * 1e6,
        "rss_added_mb": result["peak_rss_mb"] - result["rss_ready_mb"],
        "ordered": float(result["ordered"]),
    }


def _w2_programs(marks: list[tuple[float, float]]) -> dict[str, Callable[[], list[int]]]:
    """W2 (400 × 20 ms sleeps, 50 at a time) as the shared harness runs it — a raw pool with a
    submit per task, and a flowc ``MapStates`` on a fresh ``MultiThreadedExecutor`` — with each
    branch appending (start, end) perf_counter times to ``marks``."""
    from flowc.runtime import ApplicationBuilder, GraphBuilder, State, action
    from flowc.runtime.executors import MultiThreadedExecutor
    from flowc.runtime.parallelism import MapStates

    n, workers, sleep_s = 400, 50, 0.02

    def raw_work(state: dict[str, int]) -> dict[str, int]:
        started = time.perf_counter()
        time.sleep(sleep_s)
        marks.append((started, time.perf_counter()))
        return {**state, "out": state["i"]}

    def raw() -> list[int]:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(raw_work, {"n": n, "i": i}) for i in range(n)]
            return [f.result()["out"] for f in futures]

    @action(reads=["i"], writes=["out"])
    def work(state: State) -> State:
        started = time.perf_counter()
        time.sleep(sleep_s)
        marks.append((started, time.perf_counter()))
        return state.update(out=state["i"])

    class FanOut(MapStates):
        def action(self, state: State, inputs: dict) -> object:
            return work

        def states(self, state: State, context: object, inputs: dict) -> object:
            for i in range(state["n"]):
                yield state.update(i=i)

        def reduce(self, state: State, states: object) -> State:
            return state.update(results=[sub["out"] for sub in states])  # type: ignore[attr-defined]

        @property
        def reads(self) -> list[str]:
            return ["n"]

        @property
        def writes(self) -> list[str]:
            return ["results"]

    graph = GraphBuilder().with_actions(fan_out=FanOut()).build()

    def flowc() -> list[int]:
        app = (
            ApplicationBuilder()
            .with_graph(graph)
            .with_parallel_executor(MultiThreadedExecutor(max_concurrency=workers))
            .with_entrypoint("fan_out")
            .with_state(n=n)
            .build()
        )
        return app.run(halt_after=["fan_out"])[2]["results"]

    return {"raw": raw, "flowc": flowc}


def trace_w2(rounds: int) -> None:
    """Per run: when the first and the 50th branch started, when the last one ended, and what
    came after it (pool shutdown for raw, the reduce for flowc), relative to the run's start."""
    marks: list[tuple[float, float]] = []
    programs = _w2_programs(marks)
    rows: dict[str, list[dict[str, float]]] = {name: [] for name in programs}
    for program in programs.values():
        program()  # warm-up
    for _ in range(rounds):
        for name, program in programs.items():
            marks.clear()
            gc.collect()
            begin = time.perf_counter()
            program()
            wall = time.perf_counter() - begin
            starts = sorted(start - begin for start, _ in marks)
            last_end = max(end for _, end in marks) - begin
            rows[name].append(
                {
                    "wall": wall,
                    "first start": starts[0],
                    "50th start": starts[49],
                    "last end": last_end,
                    "after last end": wall - last_end,
                }
            )
    print(f"W2 traced, {rounds} alternating runs each, medians in ms; load {_uptime_load()}")
    print(
        "| framework | wall | efficiency | first start | 50th start | last end | after last end |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, samples in rows.items():
        med = {key: statistics.median(s[key] for s in samples) * 1e3 for key in samples[0]}
        print(
            f"| {name} | {med['wall']:.1f} | {IDEAL_W2_S * 1e3 / med['wall']:.1%} "
            f"| {med['first start']:.2f} | {med['50th start']:.2f} | {med['last end']:.1f} "
            f"| {med['after last end']:.2f} |"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--frameworks", default=",".join(FRAMEWORKS))
    parser.add_argument("--trace-w2", type=int, metavar="ROUNDS", help="trace W2 in-process")
    args = parser.parse_args(argv)
    if args.trace_w2:
        trace_w2(args.trace_w2)
        return 0
    frameworks = args.frameworks.split(",")

    load_at_start = _uptime_load()
    rows: dict[tuple[str, int, str], list[dict[str, float]]] = {}
    ratios: dict[tuple[str, int, str], list[float]] = {}
    skipped: dict[str, str] = {}
    for round_no in range(args.rounds):
        order = frameworks[round_no % len(frameworks) :] + frameworks[: round_no % len(frameworks)]
        for workload, n in CELLS:
            this_round: dict[str, dict[str, float]] = {}
            for framework in order:
                result = run_cell(args.shared, framework, workload, n, args.repeats)
                if "skipped" in result:
                    skipped[framework] = result["skipped"]
                    continue
                this_round[framework] = summarise(result, n)
                rows.setdefault((workload, n, framework), []).append(this_round[framework])
            if "raw" in this_round:
                for framework, figures in this_round.items():
                    ratio = figures["wall_ms"] / this_round["raw"]["wall_ms"]
                    ratios.setdefault((workload, n, framework), []).append(ratio)

    print(f"load average at start: {load_at_start}; at end: {_uptime_load()}; rounds={args.rounds}")
    print("| cell | framework | wall ms | µs/task | × raw | × burr | RSS added MB | efficiency |")
    print("|---|---|---|---|---|---|---|---|")
    medians: dict[tuple[str, int, str], dict[str, float]] = {}
    for (workload, n, framework), samples in rows.items():
        figures = {key: statistics.median(s[key] for s in samples) for key in samples[0]}
        figures["x_raw"] = statistics.median(ratios.get((workload, n, framework), [math.nan]))
        medians[(workload, n, framework)] = figures
    for (workload, n, framework), figures in medians.items():
        burr = medians.get((workload, n, "burr"))
        x_burr = figures["wall_ms"] / burr["wall_ms"] if burr else math.nan
        efficiency = f"{IDEAL_W2_S / (figures['wall_ms'] / 1e3):.0%}" if workload == "w2" else ""
        print(
            f"| {workload} N={n} | {framework} | {figures['wall_ms']:.1f} "
            f"| {figures['us_per_task']:.1f} | {figures['x_raw']:.2f}× | {x_burr:.2f}× "
            f"| {figures['rss_added_mb']:.1f} | {efficiency} |"
        )
    print()
    for line in _verdicts(medians):
        print(line)
    for framework, why in skipped.items():
        print(f"skipped {framework}: {why}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
