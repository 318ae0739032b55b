"""Compile time (`flowc check`: parse + lower + static checks) of generated flows of 100, 1,000
and 10,000 actions. Target: 10,000 actions in at most 1 s, growing linearly.

Each generated flow is clean (no diagnostics): a chain of actions with bound parameters, reads
and writes, every third one with a conditional loop back (so the dataflow analysis iterates), and
one map per 20 actions (two branches over state items, a reduce per branch key) after the chain.
The baseline, measured in the same run, is parsing alone (the front end), so the ratio shows what
lowering and checking add. Python-side checks are off (``--no-import``): they import user modules,
whose cost is the user's. Run: ``.venv/bin/python bench/compile.py`` (add ``--cli`` to also time
the real ``flowc check --no-import`` on the 10,000-action file, process start included).
"""

from __future__ import annotations

import gc
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

from flowc.compiler import compile_source, parse
from flowc.compiler.checks import run_checks
from flowc.compiler.lower import lower

SIZES = (100, 1_000, 10_000)


def generate(actions: int) -> str:
    maps = max(1, actions // 20)
    lines = [
        f"flow generated_{actions}",
        "from bench_actions import step",
        "state { round: int = 0, items: list[str] = [], k0: int = 0 }",
    ]
    lines += [
        f'action a{i} = step(n={i}, label="x{i}") reads k{i} writes k{i + 1}'
        for i in range(actions)
    ]
    for m in range(maps):
        i = (m * 20) % actions
        lines += [
            f"map m{m} = [a{i}, a{i}(n=2) as b{m}] for item in items {{",
            "  max_concurrency 8",
            "  retry 2 backoff 0.5s",
            f"  reduce outs{m} = collect(k{i + 1})",
            "}",
        ]
    lines.append("start -> a0")
    for i in range(actions - 1):
        if i % 3 == 2:
            lines.append(f"a{i} -> a{i - 2} when round < 3 and k{i + 1} != 0")
        lines.append(f"a{i} -> a{i + 1}")
    chain = [f"a{actions - 1}", *(f"m{m}" for m in range(maps)), "end"]
    lines.append(" -> ".join(chain))
    return "\n".join(lines) + "\n"


def timed(work: Callable[[], object]) -> float:
    """Wall time of one call; the cyclic GC is paused around it as ``compile_source`` pauses it
    around the whole compile, so the stages add up to the total."""
    gc.collect()
    gc.disable()
    start = time.perf_counter()
    try:
        work()
    finally:
        elapsed = time.perf_counter() - start
        gc.enable()
    return elapsed


def interleaved(stages: dict[str, Callable[[], object]], rounds: int) -> dict[str, float]:
    """The median of each stage over ``rounds``, the stages taking turns within each round so
    that a burst of load on the shared machine hits all of them alike."""
    times: dict[str, list[float]] = {name: [] for name in stages}
    for _ in range(rounds):
        for name, work in stages.items():
            times[name].append(timed(work))
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> None:
    loop_s = timed(lambda: sum(1 for _ in range(10_000_000)))
    print(
        f"python {sys.version.split()[0]}, load average {os.getloadavg()[0]:.2f}, "
        f"a bare 10⁷-iteration loop: {loop_s:.2f} s"
    )
    header = (
        f"{'actions':>8} {'parse s':>8} {'lower s':>8} {'checks s':>9} {'lower+checks':>13}"
        f" {'check total s':>14} {'µs/action':>10} {'total/parse':>12}"
    )
    print(header)
    totals: dict[int, float] = {}
    middle: dict[int, float] = {}
    for size in SIZES:
        text = generate(size)
        module, diagnostics = parse(text, "generated.flow")
        assert module is not None and not diagnostics, diagnostics
        ir = lower(module)
        found = run_checks(ir, import_python=False)
        assert not found, found[:3]
        medians = interleaved(
            {
                "parse": lambda t=text: parse(t, "generated.flow"),
                "lower": lambda m=module: lower(m),
                "checks": lambda i=ir: run_checks(i, import_python=False),
                "total": lambda t=text: compile_source(t, "generated.flow", import_python=False),
            },
            rounds=5,
        )
        parse_s, lower_s, checks_s, total_s = (
            medians[name] for name in ("parse", "lower", "checks", "total")
        )
        totals[size] = total_s
        middle[size] = lower_s + checks_s
        print(
            f"{size:>8,} {parse_s:>8.3f} {lower_s:>8.3f} {checks_s:>9.3f} {middle[size]:>13.3f}"
            f" {total_s:>14.3f} {total_s / size * 1e6:>10.1f} {total_s / parse_s:>11.2f}×"
        )
    print(
        f"growth 10k/1k: total {totals[10_000] / totals[1_000]:.1f}×, lower+checks "
        f"{middle[10_000] / middle[1_000]:.1f}× (10× is linear); load average "
        f"{os.getloadavg()[0]:.2f}"
    )
    if "--cli" in sys.argv:
        with tempfile.NamedTemporaryFile("w", suffix=".flow", delete=False) as handle:
            handle.write(generate(10_000))
        command = [sys.executable, "-m", "flowc.cli", "check", "--no-import", handle.name]
        cli_s = statistics.median(
            timed(lambda: subprocess.run(command, capture_output=True, check=True))
            for _ in range(3)
        )
        os.unlink(handle.name)
        print(f"flowc check --no-import (10,000 actions, subprocess): {cli_s:.3f} s")


if __name__ == "__main__":
    main()
