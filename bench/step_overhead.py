"""W3, sequential step overhead: a two-action loop (increment, check) to counter = N.

Measures, in one run and round-robin (so load drifts hit every row alike):

- ``raw``: the plain Python loop from the shared harness (two dict-copying functions per lap);
- ``flowc`` with the loop-back written as ``when(done=False)`` and as ``expr("not done")``;
- ``flowc+hook``: the ``when`` loop with one no-op pre/post-step hook attached (what observing
  a step costs);
- ``burr`` (apache-burr 0.43, the ``bench`` extra) on the same workload code, both conditions.

The workload code is the shared harness's (``/work/shared/bench/adapters``): the Burr-shaped
``_loop`` runs unchanged on Burr and on flowc, only the imports differ. A run is
``increment``/``check`` N times each plus a final ``finish``: 2N + 1 steps.

    .venv/bin/python bench/step_overhead.py [--n 10000] [--repeats 7] [--json]

Prints µs per step (best and median of the repeats) and the ratios the issue sets targets for:
flowc ≤ 3 µs/step and ≥ 9× faster than Burr on each condition style.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

SHARED_BENCH = os.environ.get("FLOWC_SHARED_BENCH", "/work/shared/bench")
TARGET_US_PER_STEP = 3.0
TARGET_SPEEDUP = 9.0


@dataclass(frozen=True)
class Row:
    name: str
    steps: int
    run: Callable[[], Any]


def _harness() -> tuple[Any, Any, Any]:
    sys.path.insert(0, SHARED_BENCH)
    from adapters import burr_shaped, raw  # type: ignore[import-not-found]
    from adapters.base import Params  # type: ignore[import-not-found]

    return burr_shaped, raw, Params


def _flowc_api(burr_shaped: Any) -> Any:
    """The harness's flowc API: the same names as Burr's, imported from flowc.runtime."""
    from flowc.runtime import ApplicationBuilder, GraphBuilder, action, default, expr, when

    return burr_shaped.BurrShapedAPI(
        framework="flowc",
        action=action,
        ApplicationBuilder=ApplicationBuilder,
        GraphBuilder=GraphBuilder,
        MapStates=None,  # W3 uses no parallelism
        RunnableGraph=None,
        when=when,
        expr=expr,
        default=default,
        executor=lambda workers: None,
        persister=lambda path: None,
        distributions=("flowc",),
    )


class _NoOpHook:
    def pre_run_step(self, **kwargs: Any) -> None:
        return None

    def post_run_step(self, **kwargs: Any) -> None:
        return None


def _with_hook(api: Any) -> Any:
    """The flowc API whose ApplicationBuilder attaches one no-op pre/post-step hook."""
    builder_class = api.ApplicationBuilder

    def hooked_builder() -> Any:
        return builder_class().with_hooks(_NoOpHook())

    from dataclasses import replace

    return replace(api, ApplicationBuilder=hooked_builder)


def build_rows(n: int, with_burr: bool) -> list[Row]:
    burr_shaped, raw, Params = _harness()
    steps = 2 * n + 1
    rows = [Row("raw", 2 * n, raw.RawAdapter().prepare("w3", Params(n=n, workers=1)).run)]
    flowc = _flowc_api(burr_shaped)
    for variant in ("when", "expr"):
        prepared = burr_shaped._loop(flowc, Params(n=n, workers=1, variant=variant))
        rows.append(Row(f"flowc/{variant}", steps, prepared.run))
    hooked = burr_shaped._loop(_with_hook(flowc), Params(n=n, workers=1, variant="when"))
    rows.append(Row("flowc+hook/when", steps, hooked.run))
    if with_burr:
        burr = burr_shaped.burr_api()
        for variant in ("when", "expr"):
            prepared = burr_shaped._loop(burr, Params(n=n, workers=1, variant=variant))
            rows.append(Row(f"burr/{variant}", steps, prepared.run))
    return rows


def measure(rows: list[Row], repeats: int, n: int) -> dict[str, dict[str, list[float]]]:
    """µs per step for each row, ``repeats`` times, round-robin after one warm-up run each:
    wall time, and this thread's CPU time (the figure that survives a loaded machine)."""
    for row in rows:
        out = row.run()
        if out["values"] != n:
            raise SystemExit(f"{row.name} computed {out['values']!r}, expected {n}")
    timings: dict[str, dict[str, list[float]]] = {
        clock: {row.name: [] for row in rows} for clock in ("wall", "cpu")
    }
    for _ in range(repeats):
        for row in rows:
            gc.collect()
            cpu_start, wall_start = time.thread_time(), time.perf_counter()
            row.run()
            wall, cpu = time.perf_counter() - wall_start, time.thread_time() - cpu_start
            timings["wall"][row.name].append(wall / row.steps * 1e6)
            timings["cpu"][row.name].append(cpu / row.steps * 1e6)
    return timings


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": platform.python_version()}
    for dist in ("flowc", "apache-burr"):
        try:
            found[dist] = version(dist)
        except PackageNotFoundError:
            found[dist] = "not installed"
    return found


def report(timings: dict[str, list[float]]) -> dict[str, Any]:
    best = {name: min(values) for name, values in timings.items()}
    median = {name: statistics.median(values) for name, values in timings.items()}
    summary: dict[str, Any] = {"best_us_per_step": best, "median_us_per_step": median}
    for variant in ("when", "expr"):
        ours, theirs = f"flowc/{variant}", f"burr/{variant}"
        if theirs in median:
            summary[f"speedup_vs_burr/{variant}"] = median[theirs] / median[ours]
        summary[f"x_raw/{variant}"] = median[ours] / median["raw"]
    summary["hook_cost_us_per_step"] = median["flowc+hook/when"] - median["flowc/when"]
    return summary


def _print_clock(clock: str, timings: dict[str, list[float]], summary: dict[str, Any]) -> None:
    print(f"-- {clock} time --")
    print(f"{'':18} {'best µs/step':>13} {'median':>8}")
    for name in timings:
        print(
            f"{name:18} {summary['best_us_per_step'][name]:13.2f} "
            f"{summary['median_us_per_step'][name]:8.2f}"
        )
    for variant in ("when", "expr"):
        ours = summary["median_us_per_step"][f"flowc/{variant}"]
        line = f"flowc/{variant}: {ours:.2f} µs/step ({summary[f'x_raw/{variant}']:.1f}x raw"
        speedup = summary.get(f"speedup_vs_burr/{variant}")
        if speedup is not None:
            line += f", {speedup:.1f}x faster than Burr"
        met = ours <= TARGET_US_PER_STEP and (speedup is None or speedup >= TARGET_SPEEDUP)
        print(line + f"); target {'met' if met else 'NOT met'}")
    print(f"one no-op pre/post hook adds {summary['hook_cost_us_per_step']:.2f} µs/step")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="loop target (default 10000)")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--no-burr", action="store_true", help="skip apache-burr")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)

    with_burr = not args.no_burr
    if with_burr:
        try:
            import burr  # noqa: F401
        except ImportError:
            print("apache-burr not installed (pip install -e '.[dev,bench]'); skipping it")
            with_burr = False
    rows = build_rows(args.n, with_burr)
    load_before = os.getloadavg()
    timings = measure(rows, args.repeats, args.n)
    facts: dict[str, Any] = {
        "workload": f"W3 loop to {args.n} ({2 * args.n + 1} steps)",
        "repeats": args.repeats,
        "load_average_before_after": [load_before[0], os.getloadavg()[0]],
        "versions": _versions(),
        **{clock: report(per_row) for clock, per_row in timings.items()},
    }
    if args.json:
        print(json.dumps(facts, indent=2))
        return 0
    load = facts["load_average_before_after"]
    print(f"{facts['workload']}, {args.repeats} repeats, load {load[0]:.2f} -> {load[1]:.2f}")
    for clock in ("wall", "cpu"):
        _print_clock(clock, timings[clock], facts[clock])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
