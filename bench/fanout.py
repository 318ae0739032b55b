"""Fan-out overhead of flowc's parallel maps against a raw thread pool and Apache Burr 0.43.

    .venv/bin/python bench/fanout.py                      # W1 N=100/1,000/10,000, W2, W4
    .venv/bin/python bench/fanout.py --rounds 3 --repeats 5

Every cell runs the shared harness (`../shared/bench/bench.py`: warm-up, timed runs, a
correctness check, peak RSS) in a fresh process, one framework after the other within a round,
so ratios compare runs made seconds apart. Targets (issue 3): W1 ≤ 1.5× raw per task and peak
RSS added at N=10,000 within 5 MB of raw's; W2 efficiency ≥ 94 %; W4 ≤ 40 µs per branch.
Burr is skipped (reported as such) when `apache-burr` is not installed (`pip install -e
'.[dev,bench]'`).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--frameworks", default=",".join(FRAMEWORKS))
    args = parser.parse_args(argv)
    frameworks = args.frameworks.split(",")

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

    print(f"load average at end: {os.getloadavg()[0]:.2f}; rounds={args.rounds}")
    print("| cell | framework | wall ms | µs/task | × raw | RSS added MB | efficiency |")
    print("|---|---|---|---|---|---|---|")
    for (workload, n, framework), samples in rows.items():
        wall = statistics.median(s["wall_ms"] for s in samples)
        per = statistics.median(s["us_per_task"] for s in samples)
        rss = statistics.median(s["rss_added_mb"] for s in samples)
        ratio = statistics.median(ratios.get((workload, n, framework), [float("nan")]))
        efficiency = f"{0.16 / (wall / 1e3):.0%}" if workload == "w2" else ""
        print(
            f"| {workload} N={n} | {framework} | {wall:.1f} | {per:.1f} | {ratio:.2f}× "
            f"| {rss:.1f} | {efficiency} |"
        )
    for framework, why in skipped.items():
        print(f"skipped {framework}: {why}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
