"""Compile time of generated flows of 100, 1,000 and 10,000 actions: ``flowc check`` (parse +
lower + static checks) and the build (``CompiledFlow.build_application``). Target: 10,000
actions checked and built in at most 1 s, growing linearly.

Each generated flow is clean (no diagnostics): a chain of actions with bound parameters, reads
and writes, every third one with a conditional loop back (so the dataflow analysis iterates), and
one map per 20 actions (two branches over state items, a reduce per branch key) after the chain.
Its actions call ``compile_actions.step`` (next to this file), so the flow builds.

The baseline, measured in the same run, is parsing alone (the front end, issue 4), so the ratio
shows what the compiler's own part (lower + checks + build) adds. The checks are timed without
importing (``--no-import``: importing runs user modules, whose cost is the user's); the
``+python`` column is what the Python-side checks add (``flowc check`` without ``--no-import``,
the module already imported). The build imports the one module once.

Run: ``.venv/bin/python bench/compile.py`` (add ``--cli`` to also time the real ``flowc check
--no-import`` on the 10,000-action file, process start included).
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
from pathlib import Path

from flowc.compiler import compile_source, parse
from flowc.compiler.build import build_application
from flowc.compiler.checks import run_checks
from flowc.compiler.lower import lower

SIZES = (100, 1_000, 10_000)
TARGET_S = 1.0
BENCH = Path(__file__).resolve().parent
FLOW_FILE = str(BENCH / "generated.flow")
"""The name the generated text is compiled under: imports resolve from its directory, bench/."""


def generate(actions: int) -> str:
    maps = max(1, actions // 20)
    lines = [
        f"flow generated_{actions}",
        "from compile_actions import step",
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
    """Wall time of one call, the cyclic GC in the state the real call leaves it
    (``compile_source`` pauses it for itself; the stages run alone pause it the same way, so
    they add up to the total; the build runs with it on, as ``flowc run`` builds)."""
    gc.collect()
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def collector_paused(work: Callable[[], object]) -> Callable[[], object]:
    """``work`` with the cyclic GC paused around it, as ``compile_source`` pauses it."""

    def paused() -> object:
        gc.disable()
        try:
            return work()
        finally:
            gc.enable()

    return paused


def interleaved(stages: dict[str, Callable[[], object]], rounds: int) -> dict[str, float]:
    """The median of each stage over ``rounds``, the stages taking turns within each round so
    that a burst of load on the shared machine hits all of them alike."""
    times: dict[str, list[float]] = {name: [] for name in stages}
    for _ in range(rounds):
        for name, work in stages.items():
            times[name].append(timed(work))
    return {name: statistics.median(values) for name, values in times.items()}


def check_and_build(text: str) -> object:
    """What ``flowc check --no-import`` and then the build do, in one process."""
    return compile_source(text, FLOW_FILE, import_python=False).build_application()


def measure(size: int) -> dict[str, float]:
    text = generate(size)
    module, diagnostics = parse(text, FLOW_FILE)
    assert module is not None and not diagnostics, diagnostics
    ir = lower(module, file=FLOW_FILE)
    found = run_checks(ir, import_python=False)
    assert not found, found[:3]
    build_application(ir)  # imports compile_actions once, as any build after the first finds it
    return interleaved(
        {
            "parse": collector_paused(lambda: parse(text, FLOW_FILE)),
            "lower": collector_paused(lambda: lower(module, file=FLOW_FILE)),
            "checks": collector_paused(lambda: run_checks(ir, import_python=False)),
            "imported": collector_paused(lambda: run_checks(ir, import_python=True)),
            "build": lambda: build_application(ir),
            "whole": lambda: check_and_build(text),
        },
        rounds=5,
    )


def main() -> None:
    loop_s = timed(lambda: sum(1 for _ in range(10_000_000)))
    print(
        f"python {sys.version.split()[0]}, load average {os.getloadavg()[0]:.2f}, "
        f"a bare 10⁷-iteration loop: {loop_s:.2f} s"
    )
    print(
        f"{'actions':>8} {'parse s':>8} {'lower s':>8} {'checks s':>9} {'+python s':>10}"
        f" {'build s':>8} {'compiler s':>11} {'check+build s':>14} {'µs/action':>10}"
        f" {'whole/parse':>12}"
    )
    compiler: dict[int, float] = {}
    whole: dict[int, float] = {}
    for size in SIZES:
        medians = measure(size)
        compiler[size] = medians["lower"] + medians["checks"] + medians["build"]
        whole[size] = medians["whole"]
        print(
            f"{size:>8,} {medians['parse']:>8.3f} {medians['lower']:>8.3f}"
            f" {medians['checks']:>9.3f} {medians['imported'] - medians['checks']:>10.3f}"
            f" {medians['build']:>8.3f} {compiler[size]:>11.3f}"
            f" {whole[size]:>14.3f} {whole[size] / size * 1e6:>10.1f}"
            f" {whole[size] / medians['parse']:>11.2f}×"
        )
    print(
        "compiler = lower + checks + build; check+build = parse + compiler, in one call;"
        " +python = what importing adds to the checks (flowc check without --no-import)"
    )
    for label, figures in (("compiler", compiler), ("check+build", whole)):
        at_10k = figures[10_000]
        verdict = "met" if at_10k <= TARGET_S else "missed"
        print(
            f"{label}: {at_10k:.3f} s at 10,000 actions, target ≤ {TARGET_S:.0f} s {verdict};"
            f" growth 10k/1k {at_10k / figures[1_000]:.1f}× (10× is linear)"
        )
    print(f"load average {os.getloadavg()[0]:.2f}")
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
